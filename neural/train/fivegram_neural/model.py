"""Transformer encoder-decoder and decoder-only LM, written so that training and ONNX export share one code path.

Every decoder call takes an explicit self-attention cache (``past_keys``/``past_values``, stacked over layers as
``[layers, batch, heads, past_len, head_dim]``) and returns the extended cache; training simply passes an empty
cache (``past_len = 0``) and the whole target at once. The encoder side exposes the per-decoder-layer cross
attention keys and values, computed once, exactly as the ONNX contract (neural/notes contract) lays them out.

Pre-norm layers, sinusoidal positions computed in the graph (no table, no hard length limit), embeddings scaled by
sqrt(d_model) and tied with the output projection (untied in the export copy, see ``untie``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
NEG = -1e9


@dataclass
class Config:
    """Hyper-parameters of one model; saved next to every checkpoint."""

    vocab_size: int
    d_model: int = 256
    heads: int = 4
    ffn: int = 1024
    enc_layers: int = 3
    dec_layers: int = 3
    dropout: float = 0.3
    attn_dropout: float = 0.1
    act_dropout: float = 0.1
    max_len: int = 256

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    def to_dict(self) -> dict:
        return asdict(self)


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embeddings [len, dim] for float positions [len] (sin half then cos half)."""
    half = dim // 2
    scale = -math.log(10000.0) / max(half - 1, 1)
    inv_freq = torch.exp(torch.arange(half, dtype=torch.float32) * scale)
    angles = positions.to(torch.float32).unsqueeze(1) * inv_freq.unsqueeze(0)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class Attention(nn.Module):
    """Multi-head attention with explicit K/V tensors in [batch, heads, len, head_dim]."""

    def __init__(self, d: int, heads: int, attn_dropout: float):
        super().__init__()
        self.heads = heads
        self.head_dim = d // heads
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.attn_dropout = attn_dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split(self.k(x)), self.split(self.v(x))

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        q = self.split(self.q(x)) * (self.head_dim**-0.5)
        scores = torch.matmul(q, k.transpose(-1, -2))
        if mask is not None:
            scores = scores + mask
        probs = torch.softmax(scores, dim=-1)
        probs = F.dropout(probs, self.attn_dropout, self.training)
        out = torch.matmul(probs, v).transpose(1, 2).flatten(2)
        return self.o(out)


class FeedForward(nn.Module):
    def __init__(self, d: int, ffn: int, act_dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.act_dropout = act_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.dropout(F.relu(self.fc1(x)), self.act_dropout, self.training))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg.d_model, cfg.heads, cfg.attn_dropout)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ffn = FeedForward(cfg.d_model, cfg.ffn, cfg.act_dropout)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        k, v = self.attn.keys_values(h)
        x = x + F.dropout(self.attn.attend(h, k, v, mask), self.dropout, self.training)
        return x + F.dropout(self.ffn(self.ln2(x)), self.dropout, self.training)


class DecoderLayer(nn.Module):
    """Self-attention with a cache, optional cross-attention (absent in the LM), feed-forward."""

    def __init__(self, cfg: Config, cross: bool):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.self_attn = Attention(cfg.d_model, cfg.heads, cfg.attn_dropout)
        if cross:
            self.ln2 = nn.LayerNorm(cfg.d_model)
            self.cross_attn = Attention(cfg.d_model, cfg.heads, cfg.attn_dropout)
        else:
            self.cross_attn = None
        self.ln3 = nn.LayerNorm(cfg.d_model)
        self.ffn = FeedForward(cfg.d_model, cfg.ffn, cfg.act_dropout)
        self.dropout = cfg.dropout

    def forward(self, x, past_k, past_v, self_mask, cross_k=None, cross_v=None, cross_mask=None):
        h = self.ln1(x)
        k, v = self.self_attn.keys_values(h)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        x = x + F.dropout(self.self_attn.attend(h, k, v, self_mask), self.dropout, self.training)
        if self.cross_attn is not None:
            h = self.ln2(x)
            x = x + F.dropout(self.cross_attn.attend(h, cross_k, cross_v, cross_mask), self.dropout, self.training)
        x = x + F.dropout(self.ffn(self.ln3(x)), self.dropout, self.training)
        return x, k, v


def _init(module: nn.Module, d: int, embed: nn.Embedding, embed_std: float | None) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    nn.init.normal_(embed.weight, 0.0, embed_std if embed_std is not None else d**-0.5)
    with torch.no_grad():
        embed.weight[PAD].zero_()


class Stack(nn.Module):
    """Embedding + decoder layers + final norm + output projection; shared by Seq2Seq's decoder and the LM."""

    def __init__(self, cfg: Config, embed: nn.Embedding, layers: int, cross: bool):
        super().__init__()
        self.cfg = cfg
        self.embed = embed
        self.layers = nn.ModuleList([DecoderLayer(cfg, cross) for _ in range(layers)])
        self.ln = nn.LayerNorm(cfg.d_model)
        self.out_proj: nn.Parameter | None = None  # set by untie(); None means tied to embed

    def output_weight(self) -> torch.Tensor:
        return self.embed.weight if self.out_proj is None else self.out_proj

    def forward(self, ids, past_k, past_v, cross_k=None, cross_v=None, cross_mask=None):
        """ids [B, T]; past [L, B, H, P, Dh] -> logits [B, T, V], present [L, B, H, P + T, Dh]."""
        past = past_k.shape[3]
        seq = ids.shape[1]
        positions = torch.arange(seq, device=ids.device) + past
        x = self.embed(ids) * math.sqrt(self.cfg.d_model) + sinusoid(positions, self.cfg.d_model)
        x = F.dropout(x, self.cfg.dropout, self.training)
        # query i (absolute position past + i) sees keys 0..past + i
        q_pos = positions
        k_pos = torch.arange(past + seq, device=ids.device)
        self_mask = (k_pos.unsqueeze(0) > q_pos.unsqueeze(1)).to(torch.float32) * NEG
        keys, values = [], []
        for i, layer in enumerate(self.layers):
            ck = cross_k[i] if cross_k is not None else None
            cv = cross_v[i] if cross_v is not None else None
            x, k, v = layer(x, past_k[i], past_v[i], self_mask, ck, cv, cross_mask)
            keys.append(k)
            values.append(v)
        x = self.ln(x)
        logits = F.linear(x, self.output_weight())
        return logits, torch.stack(keys), torch.stack(values)

    def empty_cache(self, batch: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (len(self.layers), batch, self.cfg.heads, 0, self.cfg.head_dim)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)


def pad_mask(src_mask: torch.Tensor) -> torch.Tensor:
    """[B, S] 1 = token / 0 = pad -> additive [B, 1, 1, S]."""
    return (1 - src_mask).to(torch.float32).unsqueeze(1).unsqueeze(2) * NEG


class Seq2Seq(nn.Module):
    """Transformer encoder-decoder with one embedding shared by source, target and output projection."""

    def __init__(self, cfg: Config, embed_std: float | None = None):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model, padding_idx=PAD)
        self.enc_layers = nn.ModuleList([EncoderLayer(cfg) for _ in range(cfg.enc_layers)])
        self.enc_ln = nn.LayerNorm(cfg.d_model)
        self.decoder = Stack(cfg, self.embed, cfg.dec_layers, cross=True)
        _init(self, cfg.d_model, self.embed, embed_std)

    def encode(self, src_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (cross_keys, cross_values) [dec_layers, B, H, S, Dh] of the encoder output."""
        src_mask = (src_ids != PAD).to(torch.int64)
        positions = torch.arange(src_ids.shape[1], device=src_ids.device)
        x = self.embed(src_ids) * math.sqrt(self.cfg.d_model) + sinusoid(positions, self.cfg.d_model)
        x = F.dropout(x, self.cfg.dropout, self.training)
        mask = pad_mask(src_mask)
        for layer in self.enc_layers:
            x = layer(x, mask)
        x = self.enc_ln(x)
        keys, values = [], []
        for layer in self.decoder.layers:
            k, v = layer.cross_attn.keys_values(x)
            keys.append(k)
            values.append(v)
        return torch.stack(keys), torch.stack(values)

    def decode(self, tgt_ids, src_mask, cross_k, cross_v, past_k, past_v):
        """tgt_ids [B, T] after a cache of P positions -> logits [B, T, V], present caches."""
        return self.decoder(tgt_ids, past_k, past_v, cross_k, cross_v, pad_mask(src_mask))

    def forward(self, src_ids: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, T, V]."""
        cross_k, cross_v = self.encode(src_ids)
        past_k, past_v = self.decoder.empty_cache(src_ids.shape[0], src_ids.device)
        logits, _, _ = self.decode(tgt_in, (src_ids != PAD).to(torch.int64), cross_k, cross_v, past_k, past_v)
        return logits


class LanguageModel(nn.Module):
    """Decoder-only Transformer LM (no cross-attention), tied embeddings."""

    def __init__(self, cfg: Config, embed_std: float | None = None):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model, padding_idx=PAD)
        self.decoder = Stack(cfg, self.embed, cfg.dec_layers, cross=False)
        _init(self, cfg.d_model, self.embed, embed_std)

    def forward(self, input_ids, past_k=None, past_v=None):
        if past_k is None:
            past_k, past_v = self.decoder.empty_cache(input_ids.shape[0], input_ids.device)
        return self.decoder(input_ids, past_k, past_v)


def untie(model: nn.Module) -> nn.Module:
    """A deep copy whose output projection is its own tensor (quantize_dynamic mishandles shared initializers)."""
    m = copy.deepcopy(model)
    if m.decoder.out_proj is None:
        m.decoder.out_proj = nn.Parameter(m.embed.weight.detach().clone())
    return m


# --- export wrappers: exactly the ONNX contract's inputs and outputs -------------------------------------------


class EncoderGraph(nn.Module):
    def __init__(self, model: Seq2Seq):
        super().__init__()
        self.model = model

    def forward(self, src_ids):
        return self.model.encode(src_ids)


class DecoderGraph(nn.Module):
    def __init__(self, model: Seq2Seq):
        super().__init__()
        self.model = model

    def forward(self, tgt_ids, src_mask, cross_keys, cross_values, past_keys, past_values):
        logits, pk, pv = self.model.decode(tgt_ids, src_mask, cross_keys, cross_values, past_keys, past_values)
        return torch.log_softmax(logits[:, -1, :], dim=-1), pk, pv


class LMGraph(nn.Module):
    def __init__(self, model: LanguageModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, past_keys, past_values):
        logits, pk, pv = self.model(input_ids, past_keys, past_values)
        return torch.log_softmax(logits, dim=-1), pk, pv


def average_states(states: list[dict]) -> dict:
    """The element-wise average of state dicts (checkpoint averaging), computed in float64, each tensor back in
    its own dtype."""
    return {n: sum(s[n].double() for s in states).div(len(states)).to(states[0][n].dtype) for n in states[0]}
