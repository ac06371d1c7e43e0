//! The error model: how likely a writer who meant word `w` is to type string `s`, `P(s | w)`.
//!
//! In the spirit of Brill & Moore (2000), the intended word is cut into pieces and each piece `α` is typed as
//! some string `β` with probability `P(α → β)`; a piece typed right costs nothing. The model has two layers:
//!
//! - **Rules**: learned string edits `α → β` with `|α|` and `|β|` up to [`MAX_RULE`] characters, context
//!   included (`ent → ant`, `ph → f`, `ei → ie`, `ss → s`), each with its own probability. They come from
//!   [`crate::train`], which mines likely misspellings from raw text.
//! - **Single-character edits** for everything the rules do not cover: substitution, deletion, insertion and
//!   transposition, with cheaper costs for what people do often (a vowel for a vowel, a key next to the right
//!   one, a doubled or undoubled letter) and a surcharge for an error in the first letter. These are
//!   [`EditCosts`].
//!
//! [`ErrorModel::cost`] returns `-log10 P(s | w)` for the cheapest way to turn `w` into `s` (a Viterbi
//! approximation of Brill & Moore's sum over partitions), by dynamic programming over the two strings.
//!
//! On disk the model is `errors.tsv`: `#`-comments, `key = value` lines for the [`EditCosts`], then one rule a
//! line, `alpha<TAB>beta<TAB>cost` (cost in `-log10` units; `beta` may be empty for a deletion).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::{Error, Result};

/// The longest `α` or `β` of a rule, in characters.
pub const MAX_RULE: usize = 3;

/// The least cost of an edit once a bonus is applied (`P ≈ 0.5`): no edit is ever free, which also keeps the
/// candidate search's lower bounds useful.
pub const MIN_COST: f32 = 0.3;

/// The mark before a word's first letter, which rules may use as context.
pub const START: char = '^';
/// The mark after a word's last letter.
pub const END: char = '$';

/// Costs (`-log10` probabilities) of single-character edits not covered by a rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EditCosts {
    /// Substituting one letter for another.
    pub substitute: f32,
    /// Substituting a vowel for a vowel.
    pub substitute_vowel: f32,
    /// Substituting a letter for a neighbour on a QWERTY keyboard.
    pub substitute_keyboard: f32,
    /// Leaving a letter out.
    pub delete: f32,
    /// Leaving out one letter of a doubled pair (`committee` → `commitee`).
    pub delete_double: f32,
    /// Typing an extra letter.
    pub insert: f32,
    /// Typing an extra letter equal to a neighbour (`begining` → `beginning`'s inverse, `untill`).
    pub insert_double: f32,
    /// Swapping two adjacent letters.
    pub transpose: f32,
    /// Added to any edit that touches the first letter.
    pub first_letter: f32,
}

/// The defaults are rounded from the costs [`crate::train`] estimates on the English corpora (per-token rates of
/// user-written text), so that a model without rules ranks like a trained one under the default
/// [`crate::model::Ranking`] (whose `edit_bonus` lowers every cost by about 3).
impl Default for EditCosts {
    fn default() -> Self {
        EditCosts {
            substitute: 5.7,
            substitute_vowel: 5.1,
            substitute_keyboard: 5.6,
            delete: 4.8,
            delete_double: 3.7,
            insert: 6.0,
            insert_double: 5.6,
            transpose: 5.0,
            first_letter: 0.1,
        }
    }
}

impl EditCosts {
    const KEYS: [&'static str; 9] = [
        "substitute",
        "substitute_vowel",
        "substitute_keyboard",
        "delete",
        "delete_double",
        "insert",
        "insert_double",
        "transpose",
        "first_letter",
    ];

    fn field(&mut self, key: &str) -> Option<&mut f32> {
        Some(match key {
            "substitute" => &mut self.substitute,
            "substitute_vowel" => &mut self.substitute_vowel,
            "substitute_keyboard" => &mut self.substitute_keyboard,
            "delete" => &mut self.delete,
            "delete_double" => &mut self.delete_double,
            "insert" => &mut self.insert,
            "insert_double" => &mut self.insert_double,
            "transpose" => &mut self.transpose,
            "first_letter" => &mut self.first_letter,
            _ => return None,
        })
    }

    /// Sets a cost by name; `false` when there is no such cost.
    pub fn set(&mut self, key: &str, value: f32) -> bool {
        match self.field(key) {
            Some(field) => {
                *field = value;
                true
            }
            None => false,
        }
    }

    /// (name, value) of every cost.
    pub fn entries(&self) -> Vec<(&'static str, f32)> {
        let mut copy = *self;
        Self::KEYS
            .iter()
            .map(|&k| (k, copy.field(k).map_or(0.0, |v| *v)))
            .collect()
    }
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// QWERTY rows, for keyboard adjacency.
const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];

fn key_position(c: char) -> Option<(i32, i32)> {
    if !c.is_ascii_lowercase() {
        return None;
    }
    ROWS.iter()
        .enumerate()
        .find_map(|(r, row)| row.bytes().position(|b| b == c as u8).map(|col| (r as i32, col as i32)))
}

/// Keyboard adjacency of the 26 lowercase ASCII letters, one bit per letter.
static ADJACENT: std::sync::LazyLock<[u32; 26]> = std::sync::LazyLock::new(|| {
    let mut table = [0u32; 26];
    for a in 'a'..='z' {
        for b in 'a'..='z' {
            if keyboard_adjacent_slow(a, b) {
                table[(a as u8 - b'a') as usize] |= 1 << (b as u8 - b'a');
            }
        }
    }
    table
});

/// True when `a` and `b` are neighbouring keys (same row or the row above or below, offset by at most one).
pub fn keyboard_adjacent(a: char, b: char) -> bool {
    if a.is_ascii_lowercase() && b.is_ascii_lowercase() {
        ADJACENT[(a as u8 - b'a') as usize] & (1 << (b as u8 - b'a')) != 0
    } else {
        false
    }
}

fn keyboard_adjacent_slow(a: char, b: char) -> bool {
    match (key_position(a), key_position(b)) {
        (Some((ra, ca)), Some((rb, cb))) => {
            // Each row sits about half a key to the right of the row above it.
            (ra == rb && (ca - cb).abs() == 1)
                || (rb == ra - 1 && (cb == ca || cb == ca + 1))
                || (rb == ra + 1 && (cb == ca || cb == ca - 1))
        }
        _ => false,
    }
}

/// A packed rule side: up to three characters.
type Packed = u64;

fn pack(chars: &[char]) -> Packed {
    chars
        .iter()
        .enumerate()
        .fold(0, |key, (i, &c)| key | u64::from(c) << (21 * i))
}

/// One learned edit, keyed in the model by its `α`: 16 bytes, so that a query's look-up of the rules for an α
/// reads few cache lines.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rule {
    /// β, packed ([`pack`]; its characters are [`unpack`]ed when needed).
    beta_key: Packed,
    cost: f32,
    alpha_len: u8,
    beta_len: u8,
    /// Edit distance between α and β (at least 1).
    edits: u8,
    /// `beta_key`'s bit in a query's [`Scratch::beta_filter`].
    beta_bit: u8,
}

/// The `len` characters of a packed string.
fn unpack(key: Packed, len: u8) -> impl Iterator<Item = char> {
    (0..len).filter_map(move |i| char::from_u32(((key >> (21 * u32::from(i))) & 0x1F_FFFF) as u32))
}

/// The bit of packed substring `beta` in a query's filter of its substrings (256 bits).
#[inline]
fn beta_filter_bit(beta: Packed) -> u8 {
    (beta.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 56) as u8
}

/// Scratch space for [`ErrorModel::cost`], reused between calls to avoid allocation.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    w: Vec<char>,
    s: Vec<char>,
    table: Vec<f32>,
    /// The observed word the rule cache below was built for (framed by the boundary marks).
    query: Vec<char>,
    /// Packed keys of the query's substrings: `keys[j * (MAX_RULE + 1) + l]` is `s[j..j + l]`.
    keys: Vec<Packed>,
    /// The distinct packed substrings of the query (of up to [`MAX_RULE`] characters, the empty one included),
    /// each with bit `j` set when it occurs at position `j` (below 64): an open-addressing table (`Packed::MAX`
    /// marks a free slot) with at most half of its slots filled.
    betas: Vec<(Packed, u64)>,
    /// The keys in `betas`, in the order first seen.
    distinct: Vec<Packed>,
    /// A Bloom filter (one hash, 256 bits, [`beta_filter_bit`]) of the keys in `betas`: most rules' β are not
    /// in the query, and this rules them out before `betas` is probed.
    beta_filter: [u64; 4],
    /// α → range of `cached` holding the rules for α whose β occurs in the query.
    cache: KeyMap<(u32, u32)>,
    cached: Vec<Applicable>,
    /// A Bloom filter (one hash, [`FILTER_BITS`] bits) of the α of every rule whose β occurs in the query: the
    /// dynamic programme looks a substring of the intended word up in `cache` only when its bit is set.
    filter: Vec<u64>,
    /// α (other than one ASCII character, see `single_alpha`) → the least cost per edit and the most edits of the
    /// rules for α whose β occurs in the query and that cost less per edit than any single-character edit other
    /// than the cheap deletion (what [`ErrorModel::lower_bound`] needs of the rules).
    per_edit: KeyMap<(f32, u8)>,
    /// What `per_edit` holds for the α of one ASCII character (they are kept here instead), by character code
    /// ((∞, 0) where there is none): looked up directly.
    single_alpha: Vec<(f32, u8)>,
    /// The rule applications [`ErrorModel::lower_bound`] counts: (cost per edit, edits).
    items: Vec<(f32, u8)>,
    /// The least value in `per_edit`.
    rule_floor: f32,
}

/// How many items [`ErrorModel::lower_bound`] keeps in registers (more go to a sorted list).
const LB_ITEMS: usize = 6;

/// Puts `key` into the ascending chain `kept[..K]` (the `K` least keys seen), by compare-exchanges that do not
/// branch on the keys.
#[inline(always)]
fn keep_least<const K: usize>(kept: &mut [u64; LB_ITEMS], mut key: u64) {
    for slot in &mut kept[..K] {
        let low = (*slot).min(key);
        key = (*slot).max(key);
        *slot = low;
    }
}

/// A lower-bound item (cost per edit, edits) as an integer ordered by cost, then by more edits first: a
/// non-negative `f32`'s bits order as its value.
#[inline]
fn item_key((per_edit, edits): (f32, u8)) -> u64 {
    let per_edit = if per_edit > 0.0 { per_edit } else { 0.0 };
    u64::from(per_edit.to_bits()) << 8 | u64::from(255 - edits)
}

/// The item of an [`item_key`].
#[inline]
fn item_of_key(key: u64) -> (f32, u8) {
    (f32::from_bits((key >> 8) as u32), 255 - (key & 0xFF) as u8)
}

/// Bits of [`Scratch`]'s filter of applicable rules.
const FILTER_BITS: u32 = 4096;

#[inline]
fn filter_bit(alpha: Packed) -> usize {
    (alpha.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS.trailing_zeros())) as usize
}

/// A map from packed strings, by open addressing in a table at most half full: cheaper than a hash map for the
/// few hundred keys of one query, and emptied by resetting only the slots used.
#[derive(Debug, Clone, Default)]
struct KeyMap<V> {
    /// (key, value); `Packed::MAX` marks a free slot. The length is 0 or a power of two.
    slots: Vec<(Packed, V)>,
    /// The slots in use.
    used: Vec<u32>,
}

impl<V: Copy + Default> KeyMap<V> {
    fn clear(&mut self) {
        for &slot in &self.used {
            self.slots[slot as usize].0 = Packed::MAX;
        }
        self.used.clear();
    }

    #[inline]
    fn first_slot(&self, key: Packed) -> usize {
        beta_slot(key, 64 - self.slots.len().trailing_zeros())
    }

    #[inline]
    fn get(&self, key: Packed) -> Option<V> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.first_slot(key);
        loop {
            let (k, v) = self.slots[slot];
            if k == key {
                return Some(v);
            }
            if k == Packed::MAX {
                return None;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The value of `key`, inserted as `value` when absent.
    fn entry(&mut self, key: Packed, value: V) -> &mut V {
        if 2 * (self.used.len() + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.first_slot(key);
        loop {
            let k = self.slots[slot].0;
            if k == key {
                break;
            }
            if k == Packed::MAX {
                self.slots[slot] = (key, value);
                self.used.push(slot as u32);
                break;
            }
            slot = (slot + 1) & mask;
        }
        &mut self.slots[slot].1
    }

    fn grow(&mut self) {
        let entries: Vec<(Packed, V)> = self.used.iter().map(|&s| self.slots[s as usize]).collect();
        let size = (2 * self.slots.len()).max(256);
        self.slots = vec![(Packed::MAX, V::default()); size];
        self.used.clear();
        for (key, value) in entries {
            self.entry(key, value);
        }
    }
}

/// The first slot of packed substring `beta` in a table of `2^(64 - shift)` slots.
#[inline]
fn beta_slot(beta: Packed, shift: u32) -> usize {
    (beta.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

/// A rule that can apply to the current query: where its β occurs there.
#[derive(Debug, Clone, Copy)]
struct Applicable {
    alpha_len: u8,
    beta_len: u8,
    cost: f32,
    /// Bit `j` set when β occurs at position `j` of the framed query.
    at: u64,
}

/// The error model: learned rules over [`EditCosts`].
#[derive(Debug, Clone)]
pub struct ErrorModel {
    costs: EditCosts,
    rules: HashMap<Packed, Vec<Rule>, BuildFx>,
    /// β → the α of the rules that type it, cheapest per edit first.
    by_beta: HashMap<Packed, Vec<ByBeta>, BuildFx>,
    /// (α, β) → the rule's cost: what [`ErrorModel::one_piece_cost`] looks up.
    pairs: HashMap<(Packed, Packed), f32, BuildFx>,
    len: usize,
    min_edit: f32,
    /// Substitution costs between lowercase ASCII letters, derived from `costs`.
    substitutions: Vec<f32>,
}

/// The α of a rule, under its β in [`ErrorModel`]'s `by_beta`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ByBeta {
    alpha: Packed,
    /// The rule's cost per edit (`cost / edits`).
    per_edit: f32,
    edits: u8,
    /// `alpha`'s bit in a query's filter of applicable rules ([`filter_bit`]).
    bit: u16,
}

impl ByBeta {
    fn new(alpha: Packed, per_edit: f32, edits: u8) -> ByBeta {
        ByBeta {
            alpha,
            per_edit,
            edits,
            bit: filter_bit(alpha) as u16,
        }
    }

    /// Puts a β's list in the order `prepare_query` needs: cheapest per edit first.
    fn sort(list: &mut [ByBeta]) {
        list.sort_by(|a, b| a.per_edit.total_cmp(&b.per_edit).then(a.alpha.cmp(&b.alpha)));
    }
}

/// A fast hasher for packed rule keys (multiply-shift; the keys are short character codes, not attacker input).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BuildFx;

impl std::hash::BuildHasher for BuildFx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

/// The hasher of [`BuildFx`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7C_C1_B7_27_22_0A_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7C_C1_B7_27_22_0A_95);
    }
}

/// The default single-character costs and no rules.
impl Default for ErrorModel {
    fn default() -> Self {
        ErrorModel::new(EditCosts::default())
    }
}

impl ErrorModel {
    /// A model with the given single-character costs and no rules.
    pub fn new(costs: EditCosts) -> ErrorModel {
        let mut model = ErrorModel {
            costs,
            rules: HashMap::default(),
            by_beta: HashMap::default(),
            pairs: HashMap::default(),
            len: 0,
            min_edit: 0.0,
            substitutions: Vec::new(),
        };
        model.update_min_edit();
        model
    }

    fn set_cost(&mut self, key: &str, value: f32) -> bool {
        let ok = self.costs.set(key, value);
        self.update_min_edit();
        ok
    }

    /// The single-character costs.
    pub fn costs(&self) -> &EditCosts {
        &self.costs
    }

    /// Replaces the single-character costs.
    pub fn set_costs(&mut self, costs: EditCosts) {
        self.costs = costs;
        self.update_min_edit();
    }

    /// The number of rules.
    pub fn rule_count(&self) -> usize {
        self.len
    }

    /// Resets the rule cache of `scratch` for its current observed word.
    fn prepare_query(&self, scratch: &mut Scratch) {
        scratch.query.clear();
        scratch.query.extend_from_slice(&scratch.s);
        scratch.cache.clear();
        scratch.cached.clear();
        scratch.keys.clear();
        let q = &scratch.query;
        for j in 0..=q.len() {
            for l in 0..=MAX_RULE {
                scratch.keys.push(if j + l <= q.len() {
                    pack(&q[j..j + l])
                } else {
                    Packed::MAX
                });
            }
        }
        // The distinct β in the query, each with the positions where it occurs (one bit each), in an open
        // addressing table with at most half of its slots filled.
        let slots = (2 * scratch.keys.len()).next_power_of_two();
        scratch.betas.clear();
        scratch.betas.resize(slots, (Packed::MAX, 0));
        scratch.distinct.clear();
        scratch.beta_filter = [0; 4];
        let shift = 64 - slots.trailing_zeros();
        for (at, &beta) in scratch.keys.iter().enumerate() {
            let j = at / (MAX_RULE + 1);
            if beta == Packed::MAX || j >= 64 {
                continue;
            }
            let mut slot = beta_slot(beta, shift);
            loop {
                let entry = &mut scratch.betas[slot];
                if entry.0 == beta {
                    entry.1 |= 1 << j;
                    break;
                }
                if entry.0 == Packed::MAX {
                    *entry = (beta, 1 << j);
                    scratch.distinct.push(beta);
                    let bit = beta_filter_bit(beta);
                    scratch.beta_filter[usize::from(bit / 64)] |= 1 << (bit % 64);
                    break;
                }
                slot = (slot + 1) & (slots - 1);
            }
        }
        scratch.filter.clear();
        scratch.filter.resize(FILTER_BITS as usize / 64, 0);
        scratch.per_edit.clear();
        scratch.single_alpha.clear();
        scratch.single_alpha.resize(128, (f32::INFINITY, 0));
        scratch.rule_floor = f32::INFINITY;
        let single = self.single_edit_floor();
        for &beta in &scratch.distinct {
            if let Some(alphas) = self.by_beta.get(&beta) {
                for entry in alphas {
                    scratch.filter[usize::from(entry.bit / 64)] |= 1 << (entry.bit % 64);
                }
                // Cheapest per edit first: the rest are no cheaper per edit than a single-character edit, and
                // such rules never lower the bound.
                for &ByBeta {
                    alpha, per_edit, edits, ..
                } in alphas
                {
                    if per_edit >= single {
                        break;
                    }
                    // An α of one ASCII character is looked up in its own array only.
                    let least = if alpha < 128 {
                        &mut scratch.single_alpha[alpha as usize]
                    } else {
                        scratch.per_edit.entry(alpha, (per_edit, edits))
                    };
                    *least = (least.0.min(per_edit), least.1.max(edits));
                    scratch.rule_floor = scratch.rule_floor.min(per_edit);
                }
            }
        }
    }

    /// The rules for α (packed) that can apply to the current query, cached per query.
    fn applicable(&self, scratch: &mut Scratch, alpha: Packed) -> (u32, u32) {
        if let Some(range) = scratch.cache.get(alpha) {
            return range;
        }
        let start = scratch.cached.len() as u32;
        if let Some(list) = self.rules.get(&alpha) {
            let slots = scratch.betas.len();
            let shift = 64 - slots.trailing_zeros();
            for rule in list {
                if scratch.beta_filter[usize::from(rule.beta_bit / 64)] & (1 << (rule.beta_bit % 64)) == 0 {
                    continue;
                }
                let mut slot = beta_slot(rule.beta_key, shift);
                let at = loop {
                    let entry = scratch.betas[slot];
                    if entry.0 == rule.beta_key {
                        break entry.1;
                    }
                    if entry.0 == Packed::MAX {
                        break 0;
                    }
                    slot = (slot + 1) & (slots - 1);
                };
                if at != 0 {
                    scratch.cached.push(Applicable {
                        alpha_len: rule.alpha_len,
                        beta_len: rule.beta_len,
                        cost: rule.cost,
                        at,
                    });
                }
            }
        }
        let range = (start, scratch.cached.len() as u32);
        *scratch.cache.entry(alpha, range) = range;
        range
    }

    /// The same model with every edit (each single-character edit and each rule) made `log10` `bonus` cheaper,
    /// down to a floor of [`MIN_COST`]: how much more often the people being corrected err than the writers the model
    /// was trained on. `first_letter` is added to the first-letter surcharge instead.
    pub fn with_bonus(&self, bonus: f32, first_letter: f32) -> ErrorModel {
        let shift = |c: f32| (c - bonus).max(MIN_COST);
        let mut costs = self.costs;
        let first = (costs.first_letter + first_letter).max(0.0);
        for (key, value) in self.costs.entries() {
            costs.set(key, shift(value));
        }
        costs.first_letter = first;
        let mut model = self.clone();
        model.costs = costs;
        for list in model.rules.values_mut() {
            for rule in list {
                rule.cost = shift(rule.cost);
            }
        }
        model.index_by_beta();
        model.update_min_edit();
        model
    }

    /// Rebuilds `by_beta` and `pairs` from the rules (after their costs changed).
    fn index_by_beta(&mut self) {
        self.by_beta.clear();
        self.pairs.clear();
        for (&alpha, list) in &self.rules {
            for rule in list {
                self.pairs.insert((alpha, rule.beta_key), rule.cost);
                let per_edit = rule.cost / f32::from(rule.edits);
                self.by_beta
                    .entry(rule.beta_key)
                    .or_default()
                    .push(ByBeta::new(alpha, per_edit, rule.edits));
            }
        }
        for list in self.by_beta.values_mut() {
            ByBeta::sort(list);
        }
    }

    /// The least cost of one single-character edit other than deleting one of two equal neighbours.
    pub(crate) fn single_edit_floor(&self) -> f32 {
        let c = &self.costs;
        [
            c.substitute,
            c.substitute_vowel,
            c.substitute_keyboard,
            c.insert,
            c.insert_double,
            c.transpose,
            c.delete,
        ]
        .into_iter()
        .fold(f32::INFINITY, f32::min)
        .max(0.0)
    }

    /// A lower bound on [`ErrorModel::cost`]`(intended, observed)` given `distance`, their optimal string
    /// alignment distance. Every edit path covers at least `distance` edits (a rule `α → β` covers the distance
    /// between α and β) with single-character edits and with rules whose α occurs in `intended` and whose β
    /// occurs in `observed`, and it starts at most one edit other than an insertion at each position of
    /// `intended`. So the bound lets each position cover up to its rules' most edits at their least cost per
    /// edit (or one edit at the cost of deleting one of two equal letters, where it has an equal neighbour),
    /// cheapest first, and the rest at the cheapest other single-character edit: a fractional relaxation of the
    /// real choice, hence never above it. Much tighter than `distance ×` [`ErrorModel::min_edit_cost`], since
    /// the cheap rules are specific to a few letters and rarely occur more than once or twice in a word: it lets
    /// a ranking skip the full cost of candidates that cannot win.
    pub fn lower_bound(&self, intended: &[char], observed: &[char], distance: u32, scratch: &mut Scratch) -> f32 {
        if distance == 0 || intended.len() + 2 > 257 || observed.len() + 2 > 257 {
            return 0.0;
        }
        let single = self.single_edit_floor();
        let cheap_delete = self.costs.delete_double;
        let rules = !self.rules.is_empty() && observed.len() + 2 <= 64;
        if rules {
            self.frame_query(observed, scratch);
        }
        scratch.items.clear();
        let keep = distance as usize;
        let mut kept = [u64::MAX; LB_ITEMS];
        let rules = rules && scratch.rule_floor < single;
        if rules || cheap_delete < single {
            let n = intended.len() + 2;
            scratch.w.clear();
            scratch.w.push(START);
            scratch.w.extend_from_slice(intended);
            scratch.w.push(END);
            let w = &scratch.w;
            for i in 0..n {
                // The position's item: the least cost per edit and the most edits of what can start here
                // ((∞, 0) stands for nothing and combines as nothing; only items cheaper than a single edit count).
                let doubled = cheap_delete < single && i > 0 && i + 1 < n && (w[i - 1] == w[i] || w[i + 1] == w[i]);
                let (mut per_edit, mut edits) = if doubled { (cheap_delete, 1) } else { (f32::INFINITY, 0) };
                if rules {
                    let mut key: Packed = 0;
                    for k in 1..MAX_RULE.min(n - i) + 1 {
                        key |= u64::from(w[i + k - 1]) << (21 * (k - 1));
                        let (p, e) = if key < 128 {
                            scratch.single_alpha[key as usize]
                        } else {
                            let bit = filter_bit(key);
                            if scratch.filter[bit / 64] & (1 << (bit % 64)) == 0 {
                                continue;
                            }
                            scratch.per_edit.get(key).unwrap_or((f32::INFINITY, 0))
                        };
                        per_edit = per_edit.min(p);
                        edits = edits.max(e);
                    }
                }
                // Each item covers at least one edit, so only the `distance` cheapest can count. Up to
                // `LB_ITEMS` of them are kept by a compare-exchange chain over their keys, without branches
                // that depend on the costs (the chain's ties go to the item covering more edits, which only
                // lowers the bound); more in a sorted list.
                if per_edit < single {
                    let item = (per_edit, edits);
                    if keep <= LB_ITEMS {
                        // Only the `keep` cheapest count: a chain that long keeps them.
                        let key = item_key(item);
                        match keep {
                            1 => keep_least::<1>(&mut kept, key),
                            2 => keep_least::<2>(&mut kept, key),
                            3 => keep_least::<3>(&mut kept, key),
                            _ => keep_least::<LB_ITEMS>(&mut kept, key),
                        }
                    } else {
                        let items = &mut scratch.items;
                        if items.len() < keep || items.last().is_some_and(|last| item.0 < last.0) {
                            let at = items.partition_point(|x| x.0 <= item.0);
                            items.insert(at, item);
                            items.truncate(keep);
                        }
                    }
                }
            }
        }
        if keep <= LB_ITEMS {
            scratch.items.extend(
                kept[..keep]
                    .iter()
                    .take_while(|&&k| k != u64::MAX)
                    .map(|&k| item_of_key(k)),
            );
        }
        let mut bound = 0.0f32;
        let mut left = distance as f32;
        for &(per_edit, edits) in &scratch.items {
            if left <= 0.0 {
                break;
            }
            let used = left.min(f32::from(edits));
            bound += used * per_edit;
            left -= used;
        }
        // A hair below the exact sum, so that rounding in the sums of the full cost never puts it under.
        (bound + left.max(0.0) * single) * (1.0 - 1e-5)
    }

    /// A lower bound on the cost of one edit between `observed` and any other word: no word `d` edits away
    /// from it costs less than `d` times this. Like [`ErrorModel::min_edit_cost`], but counting only the rules
    /// whose β occurs in `observed`.
    pub fn query_floor(&self, observed: &[char], scratch: &mut Scratch) -> f32 {
        let single = self.single_edit_floor().min(self.costs.delete_double).max(0.0);
        if self.rules.is_empty() || observed.len() + 2 > 64 || observed.len() + 2 > 257 {
            return single * (1.0 - 1e-5);
        }
        self.frame_query(observed, scratch);
        single.min(scratch.rule_floor) * (1.0 - 1e-5)
    }

    /// Frames `observed` into `scratch.s` and prepares the rule cache for it unless it is already the query.
    fn frame_query(&self, observed: &[char], scratch: &mut Scratch) {
        scratch.s.clear();
        scratch.s.push(START);
        scratch.s.extend_from_slice(observed);
        scratch.s.push(END);
        if scratch.query != scratch.s {
            self.prepare_query(scratch);
        }
    }

    /// A lower bound on the cost of one edit: no word `d` edits away (in optimal string alignment) costs less
    /// than `d` times this.
    pub fn min_edit_cost(&self) -> f32 {
        self.min_edit
    }

    fn update_min_edit(&mut self) {
        let mut table = vec![0.0f32; 26 * 26];
        for a in 0..26u8 {
            for b in 0..26u8 {
                table[usize::from(a) * 26 + usize::from(b)] =
                    self.substitute_cost_slow(char::from(b'a' + a), char::from(b'a' + b));
            }
        }
        self.substitutions = table;
        let c = &self.costs;
        let mut min = [
            c.substitute,
            c.substitute_vowel,
            c.substitute_keyboard,
            c.delete,
            c.delete_double,
            c.insert,
            c.insert_double,
            c.transpose,
        ]
        .into_iter()
        .fold(f32::INFINITY, f32::min);
        for list in self.rules.values() {
            for rule in list {
                min = min.min(rule.cost / f32::from(rule.edits));
            }
        }
        self.min_edit = min.max(0.0);
    }

    /// Adds the rule `alpha → beta` with `cost` (`-log10` probability). `alpha` must have 1 to [`MAX_RULE`]
    /// characters and `beta` at most [`MAX_RULE`]; a rule that is already there keeps the lower cost.
    /// Returns `false` (and adds nothing) for sizes out of range, identical sides or a cost that is not finite.
    pub fn add_rule(&mut self, alpha: &str, beta: &str, cost: f32) -> bool {
        let a: Vec<char> = alpha.chars().collect();
        let b: Vec<char> = beta.chars().collect();
        if a.is_empty() || a.len() > MAX_RULE || b.len() > MAX_RULE || a == b || !cost.is_finite() {
            return false;
        }
        let edits = crate::index::osa_distance(&a, &b, MAX_RULE).unwrap_or(MAX_RULE).max(1) as u8;
        let mut rule = Rule {
            alpha_len: a.len() as u8,
            beta_len: b.len() as u8,
            edits,
            beta_key: 0,
            beta_bit: 0,
            cost: cost.max(0.0),
        };
        rule.beta_key = pack(&b);
        rule.beta_bit = beta_filter_bit(rule.beta_key);
        let per_edit = rule.cost / f32::from(edits);
        let alphas = self.by_beta.entry(rule.beta_key).or_default();
        match alphas.iter_mut().find(|entry| entry.alpha == pack(&a)) {
            Some(entry) => entry.per_edit = entry.per_edit.min(per_edit),
            None => alphas.push(ByBeta::new(pack(&a), per_edit, edits)),
        }
        ByBeta::sort(alphas);
        let list = self.rules.entry(pack(&a)).or_default();
        if let Some(existing) = list
            .iter_mut()
            .find(|r| r.beta_len == rule.beta_len && r.beta_key == rule.beta_key)
        {
            existing.cost = existing.cost.min(rule.cost);
        } else {
            list.push(rule);
            self.len += 1;
        }
        let pair = self.pairs.entry((pack(&a), rule.beta_key)).or_insert(rule.cost);
        *pair = pair.min(rule.cost);
        self.min_edit = self.min_edit.min(rule.cost / f32::from(edits));
        true
    }

    /// Every rule as (alpha, beta, cost), sorted.
    pub fn rules(&self) -> Vec<(String, String, f32)> {
        let mut out: Vec<(String, String, f32)> = Vec::with_capacity(self.len);
        for (&key, list) in &self.rules {
            for rule in list {
                let alpha: String = unpack(key, rule.alpha_len).collect();
                let beta: String = unpack(rule.beta_key, rule.beta_len).collect();
                out.push((alpha, beta, rule.cost));
            }
        }
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    /// Reads `errors.tsv`.
    pub fn open(path: impl AsRef<Path>) -> Result<ErrorModel> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses the text of `errors.tsv`; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<ErrorModel> {
        let mut model = ErrorModel::new(EditCosts::default());
        let format = |line: usize, message: String| Error::Format {
            path: path.to_path_buf(),
            line: line as u64 + 1,
            message,
        };
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if !line.contains('\t') {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(format(
                        number,
                        format!("expected `name = cost` or a rule, found {line:?}"),
                    ));
                };
                let value: f32 = value
                    .trim()
                    .parse()
                    .map_err(|_| format(number, format!("cost {:?} is not a number", value.trim())))?;
                if !value.is_finite() || value < 0.0 {
                    return Err(format(number, format!("cost {value} must be finite and not negative")));
                }
                if !model.set_cost(key.trim(), value) {
                    return Err(format(
                        number,
                        format!("unknown cost {:?}; known: {}", key.trim(), EditCosts::KEYS.join(", ")),
                    ));
                }
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != 3 {
                return Err(format(
                    number,
                    format!("a rule has 3 tab-separated fields, found {}", fields.len()),
                ));
            }
            let cost: f32 = fields[2]
                .parse()
                .map_err(|_| format(number, format!("cost {:?} is not a number", fields[2])))?;
            if !model.add_rule(fields[0], fields[1], cost) {
                return Err(format(
                    number,
                    format!(
                        "invalid rule {:?} → {:?} ({}): sides of 1..={MAX_RULE} and 0..={MAX_RULE} characters, \
                         different, with a finite cost",
                        fields[0], fields[1], fields[2]
                    ),
                ));
            }
        }
        Ok(model)
    }

    /// The text of `errors.tsv`.
    pub fn to_tsv(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        for (key, value) in self.costs.entries() {
            let _ = writeln!(out, "{key} = {value}");
        }
        for (alpha, beta, cost) in self.rules() {
            let _ = writeln!(out, "{alpha}\t{beta}\t{cost:.4}");
        }
        out
    }

    /// Writes `errors.tsv` through a temporary file renamed into place.
    pub fn write(&self, path: impl AsRef<Path>, header: &str) -> Result<()> {
        crate::model::write_atomic(path.as_ref(), self.to_tsv(header).as_bytes())
    }

    #[inline]
    fn substitute_cost(&self, a: char, b: char) -> f32 {
        if a.is_ascii_lowercase() && b.is_ascii_lowercase() {
            return self.substitutions[usize::from(a as u8 - b'a') * 26 + usize::from(b as u8 - b'a')];
        }
        self.substitute_cost_slow(a, b)
    }

    fn substitute_cost_slow(&self, a: char, b: char) -> f32 {
        let c = &self.costs;
        if is_vowel(a) && is_vowel(b) {
            c.substitute_vowel
        } else if keyboard_adjacent(a, b) {
            c.substitute_keyboard
        } else {
            c.substitute
        }
    }

    /// When `intended` and `observed` are exactly one single-character edit apart (a substitution, a deletion, an
    /// insertion or a swap of two neighbours, other than of a boundary mark), a little more than the cost of
    /// that edit alone as [`ErrorModel::cost_within`]'s programme prices it; else `None`.
    ///
    /// That edit alone is one of the programme's paths, so the programme's answer is at most its cost, and
    /// every cell on a cheapest path holds at most the answer (costs only grow along a path). Running it with a
    /// budget of at least the answer therefore extends every cell of a cheapest path and returns the same value
    /// as without a budget; the cap's margin (a thousandth, and 10⁻³) covers any difference in the rounding of
    /// the sums. With a budget below the cap the call is the same as without the cap.
    fn one_edit_cap(&self, intended: &[char], observed: &[char]) -> Option<f32> {
        self.one_edit_alone(intended, observed).map(|cost| cost * 1.001 + 1e-3)
    }

    /// The cost of the single-character edit between `intended` and `observed` when they are exactly one apart
    /// (as the programme prices that edit alone, see [`ErrorModel::one_edit_cap`]); else `None`.
    fn one_edit_alone(&self, intended: &[char], observed: &[char]) -> Option<f32> {
        let (w, s) = (intended, observed);
        let p = w.iter().zip(s).take_while(|(a, b)| a == b).count();
        let c = &self.costs;
        // The first letter is row 1 of the framed programme.
        let first = if p == 0 { c.first_letter } else { 0.0 };
        let mark = |ch: char| ch == START || ch == END;
        let at = |v: &[char], i: usize| if i < v.len() { v[i] } else { END };
        let cost = if w.len() == s.len() {
            if p == w.len() {
                return None;
            }
            if w[p + 1..] == s[p + 1..] {
                if mark(w[p]) || mark(s[p]) {
                    return None;
                }
                self.substitute_cost(w[p], s[p]) + first
            } else if p + 1 < w.len() && w[p] == s[p + 1] && w[p + 1] == s[p] && w[p + 2..] == s[p + 2..] {
                if mark(w[p]) || mark(s[p]) {
                    return None;
                }
                c.transpose + first
            } else {
                return None;
            }
        } else if w.len() == s.len() + 1 {
            // `w[p]` left out: the programme's deletion in row p + 1, doubled when a framed neighbour is equal.
            if w[p + 1..] != s[p..] || mark(w[p]) {
                return None;
            }
            let before = if p == 0 { START } else { w[p - 1] };
            if before == w[p] || at(w, p + 1) == w[p] {
                c.delete_double
            } else {
                c.delete + first
            }
        } else if s.len() == w.len() + 1 {
            // `s[p]` typed extra: the programme's insertion in row p + 1 (framed `w[p]` next), column p + 1.
            if s[p + 1..] != w[p..] || mark(s[p]) {
                return None;
            }
            let before = if p == 0 { START } else { s[p - 1] };
            if before == s[p] || at(w, p) == s[p] {
                c.insert_double
            } else {
                c.insert + first
            }
        } else {
            return None;
        };
        Some(cost)
    }

    /// For `intended` and `observed` exactly one single-character edit apart (a substitution, a deletion, an
    /// insertion or a swap of neighbours, other than of a boundary mark): the cost of the cheapest way to type one
    /// piece of the framed `intended` wrongly and the rest right, that piece typed by the edit alone or by one rule
    /// `α → β` whose α covers it (at most [`MAX_RULE`] ways to place α for each of its lengths, each one look-up);
    /// else `None`.
    ///
    /// These are paths of [`ErrorModel::cost`]'s programme, so the result is never below it; it is above it
    /// only when two or more pieces typed wrongly together beat every single one, which is rare (BENCHMARKS.md,
    /// "Spelling"). The staged search prices the words one edit away this way: no per-query tables and no
    /// dynamic programme.
    pub fn one_piece_cost(&self, intended: &[char], observed: &[char]) -> Option<f32> {
        let mut best = self.one_edit_alone(intended, observed)?;
        if self.pairs.is_empty() {
            return Some(best);
        }
        let (w, s) = (intended, observed);
        let (n, m) = (w.len() + 2, s.len() + 2);
        let framed = |v: &[char], i: usize| match i {
            0 => START,
            _ if i == v.len() + 1 => END,
            _ => v[i - 1],
        };
        // Framed common prefix and suffix: a piece α = W[a..a + la] typed as β = S[a..a + lb] leaves the rest
        // right when W[..a] = S[..a] (a ≤ p) and W[a + la..] = S[a + lb..] (n − a − la ≤ q).
        let p = 1 + w.iter().zip(s).take_while(|(a, b)| a == b).count();
        let q = 1 + w.iter().rev().zip(s.iter().rev()).take_while(|(a, b)| a == b).count();
        let first = (n.saturating_sub(q)).saturating_sub(MAX_RULE);
        for a in first..=p.min(n - 1) {
            let mut alpha: Packed = 0;
            for la in 1..=MAX_RULE.min(n - a) {
                alpha |= u64::from(framed(w, a + la - 1)) << (21 * (la - 1));
                let Some(lb) = (la + m).checked_sub(n).filter(|&lb| lb <= MAX_RULE && a + lb <= m) else {
                    continue;
                };
                if n - a - la > q {
                    continue;
                }
                let beta = (0..lb).fold(0, |key: Packed, k| key | u64::from(framed(s, a + k)) << (21 * k));
                if let Some(&cost) = self.pairs.get(&(alpha, beta)) {
                    best = best.min(cost);
                }
            }
        }
        Some(best)
    }

    /// `-log10 P(observed | intended)`: the cheapest sequence of rules and single-character edits that turns
    /// `intended` into `observed`. Both are lowercased characters. Returns `f32::INFINITY` only for absurd
    /// lengths (over 255 characters).
    ///
    /// Both words are framed by the boundary marks `^` and `$` (which rules may use as context and no edit
    /// changes), so a rule can be specific to the start or end of a word.
    pub fn cost(&self, intended: &[char], observed: &[char], scratch: &mut Scratch) -> f32 {
        self.cost_within(intended, observed, f32::INFINITY, scratch)
    }

    /// [`ErrorModel::cost`], giving up as soon as the cost must exceed `budget` (then some value above `budget`
    /// is returned): the way to rank many candidates against a bar.
    pub fn cost_within(&self, intended: &[char], observed: &[char], budget: f32, scratch: &mut Scratch) -> f32 {
        // A pair one edit apart costs at most that edit: no cell above it lies on a cheapest path, so the
        // programme need not extend them (its answer is the same, see `one_edit_cap`).
        let budget = match self.one_edit_cap(intended, observed) {
            Some(cap) => budget.min(cap),
            None => budget,
        };
        self.programme(intended, observed, budget, scratch)
    }

    /// The dynamic programme of [`ErrorModel::cost_within`], with the budget as given.
    fn programme(&self, intended: &[char], observed: &[char], budget: f32, scratch: &mut Scratch) -> f32 {
        let (n, m) = (intended.len() + 2, observed.len() + 2);
        if n > 257 || m > 257 {
            return f32::INFINITY;
        }
        if intended == observed {
            return 0.0;
        }
        scratch.w.clear();
        scratch.w.push(START);
        scratch.w.extend_from_slice(intended);
        scratch.w.push(END);
        scratch.s.clear();
        scratch.s.push(START);
        scratch.s.extend_from_slice(observed);
        scratch.s.push(END);
        let use_rules = !self.rules.is_empty() && m <= 64;
        if use_rules && scratch.query != scratch.s {
            self.prepare_query(scratch);
        }
        let width = m + 1;
        // Cells above this are never extended (infinite ones included).
        let limit = if budget.is_finite() { budget.max(0.0) } else { f32::MAX };
        scratch.table.clear();
        scratch.table.resize((n + 1) * width, f32::INFINITY);
        let c = &self.costs;
        let mark = |ch: char| ch == START || ch == END;
        scratch.table[0] = 0.0;
        // The last row (past the end mark) extends nothing: the answer is its last cell.
        for i in 0..n {
            // The least cost in row `i` (final once read: only the row's own insertions write to it from now on,
            // and they write to cells read later).
            let mut row_min = f32::INFINITY;
            {
                let w = &scratch.w[..n];
                let s = &scratch.s[..m];
                let (head, tail) = scratch.table.split_at_mut((i + 1) * width);
                let cur = &mut head[i * width..][..width];
                let (next, below) = tail.split_at_mut(width);
                let first = if i == 1 { c.first_letter } else { 0.0 };
                let wi = w[i];
                // What this row's character allows: deleting it (not a mark; cheaper when doubled), and a
                // transposition with the next one (neither a mark).
                let delete = (!mark(wi)).then(|| {
                    if w[i - 1] == wi || w[i + 1] == wi {
                        c.delete_double
                    } else {
                        c.delete + first
                    }
                });
                let next_char = if i + 1 < n && !mark(w[i + 1]) {
                    Some(w[i + 1])
                } else {
                    None
                };
                for j in 0..width {
                    let here = cur[j];
                    // Costs only grow along a path: a cell over the budget leads to no answer within it.
                    if here > limit {
                        continue;
                    }
                    row_min = row_min.min(here);
                    if j < m {
                        let sj = s[j];
                        if wi == sj {
                            next[j + 1] = next[j + 1].min(here);
                        } else if !mark(wi) && !mark(sj) {
                            next[j + 1] = next[j + 1].min(here + self.substitute_cost(wi, sj) + first);
                            if let Some(after) = next_char
                                && j + 1 < m
                                && wi == s[j + 1]
                                && after == sj
                            {
                                let cell = &mut below[j + 2];
                                *cell = cell.min(here + c.transpose + first);
                            }
                        }
                    }
                    if let Some(step) = delete {
                        next[j] = next[j].min(here + step);
                    }
                    if j < m && i >= 1 && !mark(s[j]) {
                        let doubled = s[j - 1] == s[j] || wi == s[j];
                        let step = if doubled { c.insert_double } else { c.insert + first };
                        cur[j + 1] = cur[j + 1].min(here + step);
                    }
                }
            }
            // Every path to the end passes through row `i` or jumps (by a rule) from an earlier row into the two
            // rows below it, whose cells already hold those jumps: their minimum bounds the final cost.
            // Row `i` is looked at first: the two rows below need scanning only when it is over the budget.
            if budget.is_finite() && i + 1 < n && row_min > budget {
                let rows = &scratch.table[(i + 1) * width..((i + 3).min(n + 1)) * width];
                if rows.iter().fold(f32::INFINITY, |a, &b| a.min(b)) > budget {
                    return f32::INFINITY;
                }
            }
            // Rules from row `i`, now final, to the rows below.
            if use_rules && i < n && row_min <= limit {
                let mut key: Packed = 0;
                for k in 1..=MAX_RULE.min(n - i) {
                    key |= u64::from(scratch.w[i + k - 1]) << (21 * (k - 1));
                    let bit = filter_bit(key);
                    if scratch.filter[bit / 64] & (1 << (bit % 64)) == 0 {
                        continue;
                    }
                    let (start, end) = self.applicable(scratch, key);
                    for r in start..end {
                        let rule = scratch.cached[r as usize];
                        let mut at = rule.at;
                        let row = (i + usize::from(rule.alpha_len)) * width;
                        while at != 0 {
                            let j = at.trailing_zeros() as usize;
                            at &= at - 1;
                            let here = scratch.table[i * width + j];
                            if here <= limit {
                                let next = row + j + usize::from(rule.beta_len);
                                scratch.table[next] = scratch.table[next].min(here + rule.cost);
                            }
                        }
                    }
                }
            }
        }
        let t = &scratch.table;
        t[n * width + m]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(model: &ErrorModel, w: &str, s: &str) -> f32 {
        let w: Vec<char> = w.chars().collect();
        let s: Vec<char> = s.chars().collect();
        model.cost(&w, &s, &mut Scratch::default())
    }

    #[test]
    fn single_edits_cost_what_the_table_says() {
        let m = ErrorModel::new(EditCosts::default());
        let c = EditCosts::default();
        assert_eq!(cost(&m, "word", "word"), 0.0);
        assert_eq!(cost(&m, "the", "teh"), c.transpose);
        assert_eq!(cost(&m, "committee", "commitee"), c.delete_double);
        assert_eq!(cost(&m, "until", "untill"), c.insert_double);
        assert_eq!(cost(&m, "separate", "seperate"), c.substitute_vowel);
        assert_eq!(cost(&m, "cat", "car"), c.substitute_keyboard);
        assert_eq!(cost(&m, "cat", "cab"), c.substitute);
        assert_eq!(cost(&m, "cat", "bat"), c.substitute + c.first_letter);
        assert_eq!(cost(&m, "", "ab"), 2.0 * (c.insert + c.first_letter));
        assert_eq!(cost(&m, "ab", ""), c.delete + c.first_letter + c.delete);
    }

    #[test]
    fn rules_make_their_edits_cheaper() {
        let mut m = ErrorModel::new(EditCosts::default());
        let before = cost(&m, "phone", "fone");
        assert!(m.add_rule("ph", "f", 0.9));
        assert!(!m.add_rule("", "x", 1.0));
        assert!(!m.add_rule("ab", "ab", 1.0));
        assert!(cost(&m, "phone", "fone") < before);
        assert_eq!(cost(&m, "phone", "fone"), 0.9);
        assert_eq!(cost(&m, "graph", "graf"), 0.9);
        // Boundary marks anchor a rule to the end of a word.
        assert!(m.add_rule("e$", "$", 0.3));
        assert_eq!(cost(&m, "rare", "rar"), 0.3);
        assert!(cost(&m, "rarer", "rarr") > 0.3);
    }

    /// A model with cheap rules of every shape (context, doubling, boundaries, deletions, insertions), made
    /// cheaper still by a bonus, as the speller uses it.
    fn rule_heavy_model() -> ErrorModel {
        let mut m = ErrorModel::new(EditCosts::default());
        for (alpha, beta, cost) in [
            ("ph", "f", 0.9),
            ("bb", "b", 3.1),
            ("a", "", 3.3),
            ("c", "ce", 3.4),
            ("e$", "$", 3.0),
            ("^a", "^ab", 3.2),
            ("abc", "cba", 3.5),
            ("ca", "ac", 3.05),
            ("é", "e", 3.0),
            ("cc", "c", 3.2),
            ("ab", "ba", 3.0),
        ] {
            assert!(m.add_rule(alpha, beta, cost));
        }
        m.with_bonus(3.0, 0.0)
    }

    #[test]
    fn lower_bound_examples() {
        let m = rule_heavy_model();
        let mut scratch = Scratch::default();
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        for (w, s) in [
            ("abbey", "abey"),
            ("cab", "acb"),
            ("phone", "fone"),
            ("decade", "decadeeee"),
            ("a", ""),
        ] {
            let (w, s) = (chars(w), chars(s));
            let d = crate::index::osa_distance(&w, &s, 64).unwrap() as u32;
            let bound = m.lower_bound(&w, &s, d, &mut scratch);
            let exact = m.cost(&w, &s, &mut scratch);
            assert!(bound > 0.0 && bound <= exact, "{w:?} {s:?}: {bound} > {exact}");
        }
        assert_eq!(m.lower_bound(&chars("same"), &chars("same"), 0, &mut scratch), 0.0);
        // With no rule that can take part, the bound is the distance times the cheapest single edit.
        let plain = ErrorModel::new(EditCosts::default());
        let bound = plain.lower_bound(&chars("xyz"), &chars("zyx"), 2, &mut scratch);
        assert!(bound > 2.0 * plain.costs().delete * 0.999, "{bound}");
    }

    proptest::proptest! {
        #[test]
        fn lower_bounds_never_exceed_the_cost(w in "[abcé]{0,9}", s in "[abceé]{0,9}") {
            let m = rule_heavy_model();
            let mut scratch = Scratch::default();
            let (w, s): (Vec<char>, Vec<char>) = (w.chars().collect(), s.chars().collect());
            let d = crate::index::osa_distance(&w, &s, 64).unwrap() as u32;
            let exact = m.cost(&w, &s, &mut scratch);
            let bound = m.lower_bound(&w, &s, d, &mut scratch);
            proptest::prop_assert!(bound <= exact, "{:?} {:?}: bound {} > cost {}", w, s, bound, exact);
            let floor = m.query_floor(&s, &mut scratch);
            proptest::prop_assert!(d as f32 * floor <= exact, "floor {} × {} > cost {}", floor, d, exact);
            // The bound with the budget: a cost under the budget comes out exactly.
            let within = m.cost_within(&w, &s, exact, &mut scratch);
            proptest::prop_assert_eq!(within, exact);
        }
    }

    /// `w` with one edit at `at` (taken modulo its length): 0 substitutes `c`, 1 deletes, 2 inserts `c`, 3 swaps
    /// two neighbours.
    fn one_edit(w: &[char], kind: u8, at: usize, c: char) -> Vec<char> {
        let mut s = w.to_vec();
        match kind {
            0 if !w.is_empty() => s[at % w.len()] = c,
            1 if !w.is_empty() => {
                s.remove(at % w.len());
            }
            3 if w.len() >= 2 => s.swap(at % (w.len() - 1), at % (w.len() - 1) + 1),
            _ => s.insert(at % (w.len() + 1), c),
        }
        s
    }

    proptest::proptest! {
        /// The cap of a pair one edit apart is never below the programme's cost, and the cost with the cap is
        /// the programme's without it, exactly, with and without rules and budgets.
        #[test]
        fn the_one_edit_cap_leaves_the_cost_unchanged(
            w in "[abcé^]{0,9}",
            kind in 0u8..4,
            at in 0usize..10,
            c in "[abceé$]",
            budget in 0.0f32..6.0,
        ) {
            let w: Vec<char> = w.chars().collect();
            let s = one_edit(&w, kind, at, c.chars().next().unwrap());
            let distance = crate::index::osa_distance(&w, &s, 64).unwrap();
            for m in [rule_heavy_model(), ErrorModel::default()] {
                let mut scratch = Scratch::default();
                let full = m.programme(&w, &s, f32::INFINITY, &mut scratch);
                let cap = m.one_edit_cap(&w, &s);
                // Only a boundary mark at the edit, or no edit at all, leaves a pair one edit apart uncapped.
                let marks = w.iter().chain(&s).any(|&ch| ch == START || ch == END);
                proptest::prop_assert!(cap.is_none() || distance == 1, "{:?} {:?}", w, s);
                proptest::prop_assert!(cap.is_some() || distance != 1 || marks, "{:?} {:?}", w, s);
                if let Some(cap) = cap {
                    proptest::prop_assert!(full <= cap, "{:?} {:?}: cost {} > cap {}", w, s, full, cap);
                }
                proptest::prop_assert_eq!(m.cost(&w, &s, &mut scratch), full);
                let within = m.cost_within(&w, &s, budget, &mut scratch);
                if full <= budget {
                    proptest::prop_assert_eq!(within, full);
                } else {
                    proptest::prop_assert!(within > budget);
                }
            }
        }
    }

    proptest::proptest! {
        /// The per-query tables of the rules `lower_bound` uses are what the rules say: for each α, the least
        /// cost per edit and the most edits of its rules whose β occurs in the query and that are cheaper per
        /// edit than any single-character edit; and the filter lets through every α with such a rule.
        #[test]
        fn per_query_rule_tables_match_the_rules(
            rules in proptest::collection::vec(("[abc^]{1,3}", "[abc$]{0,3}", 0.0f32..6.0), 0..40),
            query in "[abc]{0,8}",
            bonus in proptest::bool::ANY,
        ) {
            let mut m = ErrorModel::default();
            for (alpha, beta, cost) in &rules {
                m.add_rule(alpha, beta, *cost);
            }
            if bonus {
                m = m.with_bonus(3.0, 0.0);
            }
            let mut scratch = Scratch::default();
            let observed: Vec<char> = query.chars().collect();
            m.frame_query(&observed, &mut scratch);
            let framed: Vec<char> = std::iter::once(START).chain(observed.iter().copied()).chain([END]).collect();
            let occurs = |beta: &[char]| (0..=framed.len().saturating_sub(beta.len())).any(|j| j < 64 && framed[j..].starts_with(beta));
            let single = m.single_edit_floor();
            let mut expected: HashMap<Packed, (f32, u8)> = HashMap::new();
            let mut floor = f32::INFINITY;
            for (alpha, beta, cost) in m.rules() {
                let (a, b): (Vec<char>, Vec<char>) = (alpha.chars().collect(), beta.chars().collect());
                if !occurs(&b) {
                    continue;
                }
                let bit = filter_bit(pack(&a));
                proptest::prop_assert!(scratch.filter[bit / 64] & (1 << (bit % 64)) != 0);
                let edits = crate::index::osa_distance(&a, &b, MAX_RULE).unwrap_or(MAX_RULE).max(1) as u8;
                let per_edit = cost / f32::from(edits);
                if per_edit < single {
                    let least = expected.entry(pack(&a)).or_insert((per_edit, edits));
                    *least = (least.0.min(per_edit), least.1.max(edits));
                    floor = floor.min(per_edit);
                }
            }
            for (alpha, _, _) in m.rules() {
                let key = pack(&alpha.chars().collect::<Vec<char>>());
                let found = if key < 128 {
                    Some(scratch.single_alpha[key as usize]).filter(|item| item.0.is_finite())
                } else {
                    scratch.per_edit.get(key)
                };
                proptest::prop_assert_eq!(found, expected.get(&key).copied(), "{}", alpha);
            }
            proptest::prop_assert_eq!(scratch.rule_floor, floor);
        }
    }

    proptest::proptest! {
        /// `one_piece_cost` is the cheapest of the edit alone and the rules that type one piece of the framed
        /// word wrongly and the rest right (found here by trying every piece), so it is a path of the programme
        /// (never below its cost) and never above the edit alone; without rules it is the edit alone.
        #[test]
        fn one_piece_costs_are_the_cheapest_single_piece(
            rules in proptest::collection::vec(("[ab^]{1,3}", "[ab$]{0,3}", 0.0f32..6.0), 0..40),
            w in "[ab]{0,8}",
            kind in 0u8..4,
            at in 0usize..10,
            c in "[abc]",
        ) {
            let mut m = ErrorModel::default();
            for (alpha, beta, cost) in &rules {
                m.add_rule(alpha, beta, *cost);
            }
            let m = m.with_bonus(3.0, 0.0);
            let w: Vec<char> = w.chars().collect();
            let s = one_edit(&w, kind, at, c.chars().next().unwrap());
            let alone = m.one_edit_alone(&w, &s);
            let piece = m.one_piece_cost(&w, &s);
            proptest::prop_assert_eq!(alone.is_some(), piece.is_some());
            let (Some(alone), Some(piece)) = (alone, piece) else {
                return Ok(());
            };
            let framed = |v: &[char]| -> Vec<char> {
                std::iter::once(START).chain(v.iter().copied()).chain([END]).collect()
            };
            let (fw, fs) = (framed(&w), framed(&s));
            let mut best = alone;
            for (alpha, beta, cost) in m.rules() {
                let (a, b): (Vec<char>, Vec<char>) = (alpha.chars().collect(), beta.chars().collect());
                for start in 0..fw.len() {
                    if fw[start..].starts_with(&a) && fs[..start] == fw[..start] && fs.len() >= start + b.len()
                        && fs[start..].starts_with(&b) && fw[start + a.len()..] == fs[start + b.len()..]
                    {
                        best = best.min(cost);
                    }
                }
            }
            proptest::prop_assert_eq!(piece, best, "{:?} {:?}", w, s);
            let full = m.cost(&w, &s, &mut Scratch::default());
            proptest::prop_assert!(full <= piece, "{:?} {:?}: cost {} > one piece {}", w, s, full, piece);
            proptest::prop_assert!(piece <= alone);
            let plain = ErrorModel::default();
            proptest::prop_assert_eq!(plain.one_piece_cost(&w, &s), plain.one_edit_alone(&w, &s));
        }
    }

    #[test]
    fn one_piece_examples() {
        let mut m = ErrorModel::default();
        assert!(m.add_rule("ei", "ie", 0.7));
        assert!(m.add_rule("y$", "ys$", 0.9));
        assert!(m.add_rule("abc", "abd", 0.5));
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        let piece = |w: &str, s: &str| m.one_piece_cost(&chars(w), &chars(s));
        assert_eq!(piece("their", "thier"), Some(0.7));
        // `y$ → ys$` needs the end of the word.
        assert_eq!(piece("family", "familys"), Some(0.9));
        assert_eq!(piece("familyx", "familysx"), Some(EditCosts::default().insert));
        // A piece may end at the edit.
        assert_eq!(piece("xabc", "xabd"), Some(0.5));
        assert_eq!(piece("their", "their"), None);
        assert_eq!(piece("their", "thierr"), None);
    }

    #[test]
    fn the_one_edit_cap_is_the_edit_alone() {
        let m = ErrorModel::default();
        let c = EditCosts::default();
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        let cap = |w: &str, s: &str| m.one_edit_cap(&chars(w), &chars(s));
        let near = |value: Option<f32>, cost: f32| value.is_some_and(|v| v >= cost && v <= cost * 1.001 + 1e-3);
        assert!(near(cap("separate", "seperate"), c.substitute_vowel));
        assert!(near(cap("cat", "bat"), c.substitute + c.first_letter));
        assert!(near(cap("the", "teh"), c.transpose));
        assert!(near(cap("committee", "commitee"), c.delete_double));
        assert!(near(cap("until", "untill"), c.insert_double));
        assert!(near(cap("cat", "at"), c.delete + c.first_letter));
        assert!(near(cap("cat", "cart"), c.insert));
        assert_eq!(cap("cat", "cat"), None);
        assert_eq!(cap("cat", "dog"), None);
        assert_eq!(cap("cat", "c$t"), None);
    }

    #[test]
    fn tsv_round_trip_and_errors_name_the_line() {
        let mut m = ErrorModel::new(EditCosts {
            transpose: 1.25,
            ..EditCosts::default()
        });
        m.add_rule("ph", "f", 0.5);
        m.add_rule("ss", "s", 1.0);
        m.add_rule("e", "", 2.0);
        let text = m.to_tsv("test model");
        let back = ErrorModel::parse(Path::new("errors.tsv"), &text).unwrap();
        assert_eq!(back.rules(), m.rules());
        assert_eq!(back.costs(), m.costs());
        let err = ErrorModel::parse(Path::new("errors.tsv"), "transpose = 1\nph\tf\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("errors.tsv:2"), "{err}");
        let err = ErrorModel::parse(Path::new("e.tsv"), "bogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown cost"), "{err}");
    }

    proptest::proptest! {
        /// The per-query key map agrees with a hash map through inserts, growth and clearing.
        #[test]
        fn key_map_agrees_with_a_hash_map(
            rounds in proptest::collection::vec(proptest::collection::vec((0u64..2000, 0u32..100), 0..400), 1..4),
        ) {
            let mut map: KeyMap<u32> = KeyMap::default();
            for inserts in rounds {
                map.clear();
                let mut reference = HashMap::new();
                for (key, value) in inserts {
                    let kept = *reference.entry(key).or_insert(value);
                    proptest::prop_assert_eq!(*map.entry(key, value), kept);
                }
                for key in 0..2000 {
                    proptest::prop_assert_eq!(map.get(key), reference.get(&key).copied());
                }
            }
        }
    }

    #[test]
    fn rules_are_small_and_give_back_their_sides() {
        assert_eq!(std::mem::size_of::<Rule>(), 16);
        let mut m = ErrorModel::default();
        for (alpha, beta) in [("é$", "e"), ("^ph", ""), ("a", "bcd")] {
            assert!(m.add_rule(alpha, beta, 1.0));
        }
        // A repeated rule keeps the lower cost and is not counted twice.
        assert!(m.add_rule("a", "bcd", 0.5));
        assert_eq!(m.rule_count(), 3);
        let rules: Vec<(String, String, f32)> = [("^ph", "", 1.0), ("a", "bcd", 0.5), ("é$", "e", 1.0)]
            .iter()
            .map(|&(a, b, c)| (a.to_string(), b.to_string(), c))
            .collect();
        assert_eq!(m.rules(), rules);
    }

    #[test]
    fn keyboard_neighbours() {
        assert!(keyboard_adjacent('a', 's'));
        assert!(keyboard_adjacent('e', 'r'));
        assert!(!keyboard_adjacent('a', 'p'));
    }
}
