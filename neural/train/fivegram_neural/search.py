"""Greedy and beam search over a step backend: PyTorch (training-time validation) or ONNX Runtime (the reference
decoder the Rust implementation is checked against). Both backends speak the ONNX contract's tensors in numpy.

Greedy: start from <s>, take the arg-max (lowest id on ties) each step, stop at </s> or after
`2 * source_length + 10` steps (source length counts the appended </s>); finished rows leave the batch.
Beam: `beam` hypotheses per source, scores are summed log-probs, a finished hypothesis is ranked by
score / length ** alpha (length counts </s>); </s> ends a hypothesis only when it is among the `beam` best
candidates of the step (so beam 1 is greedy); a source is done when `beam` hypotheses have finished (early stop),
or its step limit is reached (live hypotheses are then finished as they are).
"""

from __future__ import annotations

import numpy as np

from .model import BOS, EOS, PAD


def step_limit(src_len: int) -> int:
    return 2 * src_len + 10


def pad_batch(seqs: list[list[int]]) -> np.ndarray:
    width = max(len(s) for s in seqs)
    out = np.full((len(seqs), width), PAD, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


class TorchBackend:
    def __init__(self, model):
        import torch

        self.torch = torch
        self.model = model
        self.layers = model.cfg.dec_layers
        self.heads = model.cfg.heads
        self.head_dim = model.cfg.head_dim

    def encode(self, src_ids):
        t = self.torch
        with t.no_grad():
            k, v = self.model.encode(t.from_numpy(src_ids))
        return k.numpy(), v.numpy()

    def step(self, tgt_ids, src_mask, ck, cv, pk, pv):
        t = self.torch
        with t.no_grad():
            logits, k, v = self.model.decode(*(t.from_numpy(a) for a in (tgt_ids, src_mask, ck, cv, pk, pv)))
            lp = t.log_softmax(logits[:, -1, :], dim=-1)
        return lp.numpy(), k.numpy(), v.numpy()


class OnnxBackend:
    def __init__(self, encoder_path, decoder_path, threads: int = 1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.enc = ort.InferenceSession(str(encoder_path), opts, providers=["CPUExecutionProvider"])
        self.dec = ort.InferenceSession(str(decoder_path), opts, providers=["CPUExecutionProvider"])
        shape = self.dec.get_inputs()[4].shape  # past_keys: [layers, batch, heads, past, head_dim]
        self.layers, self.heads, self.head_dim = shape[0], shape[2], shape[4]

    def encode(self, src_ids):
        k, v = self.enc.run(["cross_keys", "cross_values"], {"src_ids": src_ids})
        return k, v

    def step(self, tgt_ids, src_mask, ck, cv, pk, pv):
        feeds = {
            "tgt_ids": tgt_ids,
            "src_mask": src_mask,
            "cross_keys": ck,
            "cross_values": cv,
            "past_keys": pk,
            "past_values": pv,
        }
        lp, k, v = self.dec.run(["log_probs", "present_keys", "present_values"], feeds)
        return lp, k, v


def _empty(backend, batch):
    shape = (backend.layers, batch, backend.heads, 0, backend.head_dim)
    return np.zeros(shape, np.float32), np.zeros(shape, np.float32)


def greedy(backend, sources: list[list[int]], max_steps: int | None = None) -> list[list[int]]:
    """Greedy decode of a batch of source id lists (each already ending in </s>); returns target ids without
    <s>/</s>."""
    src = pad_batch(sources)
    mask = (src != PAD).astype(np.int64)
    ck, cv = backend.encode(src)
    pk, pv = _empty(backend, len(sources))
    limits = [max_steps if max_steps is not None else step_limit(len(s)) for s in sources]
    rows = list(range(len(sources)))
    out: list[list[int]] = [[] for _ in sources]
    tokens = np.full((len(sources), 1), BOS, dtype=np.int64)
    step = 0
    while rows:
        lp, pk, pv = backend.step(tokens, mask, ck, cv, pk, pv)
        nxt = lp.argmax(axis=-1)
        step += 1
        keep = []
        for j, r in enumerate(rows):
            tok = int(nxt[j])
            if tok == EOS:
                continue
            out[r].append(tok)
            if step < limits[r]:
                keep.append(j)
        if len(keep) != len(rows):
            sel = np.array(keep, dtype=np.int64)
            rows = [rows[j] for j in keep]
            mask, nxt = mask[sel], nxt[sel]
            ck, cv, pk, pv = ck[:, sel], cv[:, sel], pk[:, sel], pv[:, sel]
        tokens = nxt.reshape(-1, 1).astype(np.int64)
    return out


def beam_search(backend, sources: list[list[int]], beam: int = 4, alpha: float = 1.0, nbest: int = 1):
    """Beam search; returns for each source a list of up to `nbest` (target ids, normalized score), best first."""
    n = len(sources)
    src = pad_batch(sources)
    mask = np.repeat((src != PAD).astype(np.int64), beam, axis=0)
    ck, cv = backend.encode(src)
    ck, cv = np.repeat(ck, beam, axis=1), np.repeat(cv, beam, axis=1)
    pk, pv = _empty(backend, n * beam)
    scores = np.full((n, beam), -np.inf, dtype=np.float64)
    scores[:, 0] = 0.0
    seqs: list[list[list[int]]] = [[[] for _ in range(beam)] for _ in range(n)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(n)]
    done = [False] * n
    limits = [step_limit(len(s)) for s in sources]
    tokens = np.full((n * beam, 1), BOS, dtype=np.int64)
    step = 0
    while not all(done):
        lp, pk, pv = backend.step(tokens, mask, ck, cv, pk, pv)
        step += 1
        vocab = lp.shape[-1]
        cand = scores[:, :, None] + lp.reshape(n, beam, vocab).astype(np.float64)
        flat = cand.reshape(n, beam * vocab)
        top = np.argpartition(-flat, 2 * beam, axis=1)[:, : 2 * beam]
        src_rows = np.arange(n * beam).reshape(n, beam).copy()
        new_tokens = np.full((n, beam), EOS, dtype=np.int64)
        new_scores = np.full((n, beam), -np.inf, dtype=np.float64)
        new_seqs: list[list[list[int]]] = [[[] for _ in range(beam)] for _ in range(n)]
        for b in range(n):
            if done[b]:
                continue
            order = top[b][np.lexsort((top[b], -flat[b, top[b]]))]
            live = 0
            for rank, idx in enumerate(order):
                s = flat[b, idx]
                if not np.isfinite(s):
                    break
                k, tok = divmod(int(idx), vocab)
                if tok == EOS:
                    if rank < beam:  # like fairseq: </s> counts only among the best `beam` candidates
                        finished[b].append((s / (step**alpha), list(seqs[b][k])))
                    if len(finished[b]) >= beam:
                        break
                    continue
                if live < beam:
                    new_tokens[b, live] = tok
                    new_scores[b, live] = s
                    new_seqs[b][live] = seqs[b][k] + [tok]
                    src_rows[b, live] = b * beam + k
                    live += 1
            if len(finished[b]) >= beam:
                done[b] = True
            elif step >= limits[b]:
                for k in range(live):
                    finished[b].append((new_scores[b, k] / ((step + 1) ** alpha), new_seqs[b][k]))
                done[b] = True
            elif live == 0:
                done[b] = True
        scores, seqs = new_scores, new_seqs
        sel = src_rows.reshape(-1)
        pk, pv = pk[:, sel], pv[:, sel]
        tokens = new_tokens.reshape(-1, 1)
    results = []
    for b in range(n):
        ranked = sorted(finished[b], key=lambda x: -x[0])[:nbest]
        results.append([(ids, float(score)) for score, ids in ranked])
    return results
