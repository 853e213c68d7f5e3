//! Packed one-against-many kernels, generic over a SIMD lane type.
//!
//! Many short strings are packed into the lanes of one vector, each lane holding the
//! pattern-match bits of one string: lane width 8, 16, 32 or 64 bits for strings of at most 8, 16,
//! 32 or 64 bytes (the narrowest that fits gives the most lanes). For each byte of the text, one
//! load of `PM[byte]` feeds every lane at once. Strings longer than 64 bytes, and every string
//! when no SIMD instruction set is available, take the scalar multi-word path in `bitpar`.
//!
//! The generic kernels here are `#[inline(always)]` and are only ever called from the
//! `#[target_feature]` functions of one instruction-set file, so they compile to that set.

use std::mem::MaybeUninit;

use super::bitpar;
use super::reference::{prefix4, winkler_boost};

/// Operations on one vector of equal-width integer lanes.
///
/// # Safety
///
/// Every method may execute instructions of the implementing type's instruction set: callers
/// must have checked that the CPU supports it. `load`/`store` need `BYTES` valid bytes. This
/// one contract is the `# Safety` section of every method; implementing the trait promises
/// that the methods need nothing more.
pub(crate) unsafe trait Lane: Copy {
    /// Bytes in one vector.
    const BYTES: usize;
    /// Bits in one lane.
    const BITS: u32;
    /// Every lane set to `v` truncated to the lane width.
    unsafe fn splat(v: u64) -> Self;
    /// Unaligned load of `BYTES` bytes.
    unsafe fn load(p: *const u8) -> Self;
    /// Unaligned store of `BYTES` bytes.
    unsafe fn store(self, p: *mut u8);
    unsafe fn and(self, o: Self) -> Self;
    unsafe fn or(self, o: Self) -> Self;
    unsafe fn xor(self, o: Self) -> Self;
    /// `!self & o`.
    unsafe fn andnot(self, o: Self) -> Self;
    /// Lane-wise wrapping addition.
    unsafe fn add(self, o: Self) -> Self;
    /// Lane-wise wrapping subtraction.
    unsafe fn sub(self, o: Self) -> Self;
    /// All ones in lanes where `self == o`, zero elsewhere.
    unsafe fn eq(self, o: Self) -> Self;
    /// `self + 1` in lanes where `x & mask != 0`.
    unsafe fn inc_if(self, x: Self, mask: Self) -> Self;
    /// `self - 1` in lanes where `x & mask != 0`.
    unsafe fn dec_if(self, x: Self, mask: Self) -> Self;

    /// A lane predicate: a mask register on AVX-512, a vector of all-ones lanes on AVX2.
    type Mask: Copy;
    /// Lanes where `self != 0`.
    unsafe fn nonzero(self) -> Self::Mask;
    /// Lanes where `self & o == 0`.
    unsafe fn and_is_zero(self, o: Self) -> Self::Mask;
    /// Lanes where `self` (read as signed) is below zero.
    unsafe fn negative(self) -> Self::Mask;
    /// Lanes in both masks.
    unsafe fn both(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// `self + o` in lanes of `m`, `self` elsewhere.
    unsafe fn mask_add(self, m: Self::Mask, o: Self) -> Self;
    /// `self - o` in lanes of `m`, `self` elsewhere.
    unsafe fn mask_sub(self, m: Self::Mask, o: Self) -> Self;
    /// `a | !(b | c)`.
    unsafe fn or_not_or(a: Self, b: Self, c: Self) -> Self;
    /// `(a ^ b) | c`.
    unsafe fn xor_or(a: Self, b: Self, c: Self) -> Self;
    /// `a & b & !c`.
    unsafe fn and_andnot(a: Self, b: Self, c: Self) -> Self;

    /// Vector version of the exact path of `finish_levenshtein`, where the instruction set has
    /// one: `out.len()` must exceed every index of the block and fit `i32`. Returns whether it
    /// wrote the block's distances.
    #[inline(always)]
    unsafe fn finish_levenshtein_exact(_block: &Block, _raw: &VecBuf, _out: &mut [u32]) -> bool {
        false
    }

    /// Vector version of the short-lane part of `finish_jaro`, where the instruction set has
    /// one: `table` is `small_jaro_table()`'s slice for this text, `out.len()` must exceed every
    /// index of the block. Returns whether it wrote the block's scores.
    #[inline(always)]
    unsafe fn finish_jaro_small<const WINKLER: bool>(
        _block: &Block,
        _counts: [&VecBuf; 2],
        _table: &[f64],
        _text_head: u32,
        _n: usize,
        _out: &mut [f64],
    ) -> bool {
        false
    }
}

/// Blocks advanced together by the Levenshtein kernel: independent dependency chains in flight.
const LEV_BLOCKS: usize = 4;

/// Blocks advanced together by the Jaro kernel.
const JARO_BLOCKS: usize = 2;

/// Largest vector in bytes (AVX-512).
pub(crate) const MAX_BYTES: usize = 64;
type VecBuf = [u8; MAX_BYTES];
/// Longest text for the packed Jaro kernel at the widest lanes: `2 * 64 + 1`.
const MAX_JARO_TEXT: usize = 129;

/// Writes `value` into lane `lane` of a vector image with `bits`-wide lanes.
fn put_lane(buf: &mut [u8], bits: u32, lane: usize, value: u64) {
    let w = (bits / 8) as usize;
    buf[lane * w..lane * w + w].copy_from_slice(&value.to_le_bytes()[..w]);
}

#[inline(always)]
fn get_lane(buf: &VecBuf, bits: u32, lane: usize) -> u64 {
    // `bits` is a constant at every call site, so this folds to one load.
    match bits {
        8 => u64::from(buf[lane]),
        16 => u64::from(u16::from_le_bytes([buf[2 * lane], buf[2 * lane + 1]])),
        32 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(&buf[4 * lane..4 * lane + 4]);
            u64::from(u32::from_le_bytes(b))
        }
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[8 * lane..8 * lane + 8]);
            u64::from_le_bytes(b)
        }
    }
}

/// First four bytes, zero padded, as a little-endian word: the Winkler prefix without touching
/// the strings again.
#[inline]
pub(crate) fn head4(s: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    let k = s.len().min(4);
    b[..k].copy_from_slice(&s[..k]);
    u32::from_le_bytes(b)
}

/// Common prefix length (at most 4) from two `head4` words and the lengths.
#[inline(always)]
pub(crate) fn prefix_from_heads(a: u32, b: u32, len_a: usize, len_b: usize) -> usize {
    let same = ((a ^ b).trailing_zeros() / 8) as usize;
    same.min(4).min(len_a).min(len_b)
}

#[inline]
fn ones_below(n: usize) -> u64 {
    if n >= 64 { !0 } else { (1u64 << n) - 1 }
}

/// Up to `lanes` strings packed for one vector width and lane width.
pub(crate) struct Block {
    /// `PM[byte]` images, `vector_bytes` each.
    pm: Vec<u8>,
    /// Lane `l`: length of its string.
    pub(crate) lens: VecBuf,
    /// Lane `l`: bit of its last byte, `1 << (len - 1)`.
    last: VecBuf,
    /// `h0[n]`, lane `l`: the initial Jaro window `ones_below(r + 1)` for a text of `n` bytes,
    /// with `r = max(len, n) / 2 - 1` (saturating).
    h0: Vec<VecBuf>,
    /// `r0[n]`, lane `l`: that window radius `r` itself.
    r0: Vec<VecBuf>,
    /// Original index of the string in lane `l`.
    pub(crate) idx: Vec<u32>,
    /// `idx` padded with zeros to 64 entries, for vector loads.
    pub(crate) idx_padded: [u32; 64],
    /// Lane `l`: `head4` of its string, zero padded to 64 entries.
    pub(crate) heads: [u32; 64],
}

fn padded(values: impl Iterator<Item = u32>) -> [u32; 64] {
    let mut a = [0u32; 64];
    for (slot, v) in a.iter_mut().zip(values) {
        *slot = v;
    }
    a
}

/// Strings of one lane width, packed into blocks.
pub(crate) struct Group {
    pub(crate) bits: u32,
    pub(crate) blocks: Vec<Block>,
    /// Largest original index in the group.
    pub(crate) max_idx: u32,
}

impl Group {
    /// Packs `(index, string)` pairs, each of at most `bits` bytes and at least one.
    pub(crate) fn new(bits: u32, vector_bytes: usize, strings: &[(u32, &[u8])]) -> Group {
        let lanes = vector_bytes * 8 / bits as usize;
        let blocks = strings
            .chunks(lanes)
            .map(|chunk| {
                let mut pm = vec![0u8; 256 * vector_bytes];
                let mut lens = [0u8; MAX_BYTES];
                let mut last = [0u8; MAX_BYTES];
                let lane_bytes = (bits / 8) as usize;
                for (l, &(_, s)) in chunk.iter().enumerate() {
                    for (i, &c) in s.iter().enumerate() {
                        pm[usize::from(c) * vector_bytes + l * lane_bytes + i / 8] |= 1 << (i % 8);
                    }
                    put_lane(&mut lens, bits, l, s.len() as u64);
                    put_lane(&mut last, bits, l, 1u64 << (s.len() - 1));
                }
                let window = |n: usize, f: &dyn Fn(usize) -> u64| {
                    let mut v = [0u8; MAX_BYTES];
                    for (l, &(_, s)) in chunk.iter().enumerate() {
                        let r = (s.len().max(n) / 2).saturating_sub(1);
                        put_lane(&mut v, bits, l, f(r));
                    }
                    v
                };
                let texts = 0..=2 * bits as usize + 1;
                let h0 = texts.clone().map(|n| window(n, &|r| ones_below(r + 1))).collect();
                let r0 = texts.map(|n| window(n, &|r| r as u64)).collect();
                Block {
                    pm,
                    lens,
                    last,
                    h0,
                    r0,
                    idx: chunk.iter().map(|&(i, _)| i).collect(),
                    idx_padded: padded(chunk.iter().map(|&(i, _)| i)),
                    heads: padded(chunk.iter().map(|&(_, s)| head4(s))),
                }
            })
            .collect();
        let max_idx = strings.iter().map(|&(i, _)| i).max().unwrap_or(0);
        Group { bits, blocks, max_idx }
    }
}

/// `PM[c]` of a block.
///
/// # Safety
///
/// The CPU must support `V`'s instruction set and `b` must be packed for `V`'s vector width.
#[inline(always)]
unsafe fn load_pm<V: Lane>(b: &Block, c: u8) -> V {
    debug_assert!(b.pm.len() >= (usize::from(c) + 1) * V::BYTES);
    // SAFETY: `pm` holds 256 images of `V::BYTES` bytes (the group was packed for this
    // vector width); the caller guarantees the instruction set.
    unsafe { V::load(b.pm.as_ptr().add(usize::from(c) * V::BYTES)) }
}

/// Myers' Levenshtein recurrence over `K` blocks at once (independent chains keep the
/// vector ports busy). Leaves each lane's distance modulo `2^BITS` in `raw`.
///
/// # Safety
///
/// The CPU must support `V`'s instruction set and the blocks must be packed for `V`.
#[inline(always)]
unsafe fn levenshtein_kernel<V: Lane, const K: usize>(
    blocks: [&Block; K],
    text: &[u8],
    raw: &mut [VecBuf; K],
) {
    // SAFETY: the caller guarantees the instruction set; loads and stores stay inside the
    // 64-byte images and the `pm` tables (see `load_pm`).
    unsafe {
        let one = V::splat(1);
        let mut vp = [V::splat(!0); K];
        let mut vn = [V::splat(0); K];
        let mut score = [V::splat(0); K];
        let mut last = [V::splat(0); K];
        for k in 0..K {
            score[k] = V::load(blocks[k].lens.as_ptr());
            last[k] = V::load(blocks[k].last.as_ptr());
        }
        for &c in text {
            for k in 0..K {
                let x = load_pm::<V>(blocks[k], c).or(vn[k]);
                let d0 = V::xor_or(x.and(vp[k]).add(vp[k]), vp[k], x);
                let hp = V::or_not_or(vn[k], d0, vp[k]);
                let hn = d0.and(vp[k]);
                score[k] = score[k].inc_if(hp, last[k]).dec_if(hn, last[k]);
                let hp = hp.add(hp).or(one);
                vn[k] = hp.and(d0);
                vp[k] = V::or_not_or(hn.add(hn), hp, d0);
            }
        }
        for k in 0..K {
            score[k].store(raw[k].as_mut_ptr());
        }
    }
}

/// Levenshtein distances between `text` and every string of `group`, written to
/// `out[original index]`.
///
/// # Safety
///
/// The CPU must support `V`'s instruction set and `group` must be packed for `V`.
#[inline(always)]
pub(crate) unsafe fn levenshtein_group<V: Lane>(group: &Group, text: &[u8], out: &mut [u32]) {
    let n = text.len() as u64;
    let indices_fit = (group.max_idx as usize) < out.len() && out.len() <= i32::MAX as usize;
    let finish = |block: &Block, raw: &VecBuf, out: &mut [u32]| {
        finish_levenshtein::<V>(block, raw, n, indices_fit, out);
    };
    let mut chunks = group.blocks.chunks_exact(LEV_BLOCKS);
    for quad in &mut chunks {
        let mut raw = [[0u8; MAX_BYTES]; LEV_BLOCKS];
        let blocks: [&Block; LEV_BLOCKS] = std::array::from_fn(|k| &quad[k]);
        // SAFETY: forwarded from this function's contract.
        unsafe { levenshtein_kernel::<V, LEV_BLOCKS>(blocks, text, &mut raw) };
        for (b, r) in quad.iter().zip(&raw) {
            finish(b, r, out);
        }
    }
    for b in chunks.remainder() {
        let mut raw = [[0u8; MAX_BYTES]; 1];
        // SAFETY: forwarded from this function's contract.
        unsafe { levenshtein_kernel::<V, 1>([b], text, &mut raw) };
        finish(b, &raw[0], out);
    }
}

/// Turns lane scores into distances, written to `out[original index]`.
#[inline(always)]
fn finish_levenshtein<V: Lane>(block: &Block, raw: &VecBuf, n: u64, indices_fit: bool, out: &mut [u32]) {
    let bits = V::BITS;
    // While no lane's distance can reach 2^BITS the lanes hold it exactly (the common case:
    // the distance is at most max(m, n) and m < 2^BITS).
    if bits == 64 || n < (1u64 << bits) {
        // SAFETY: the caller of `levenshtein_group` guarantees `V`'s instruction set, and
        // `indices_fit` says that `out` covers every index of the group.
        if indices_fit && unsafe { V::finish_levenshtein_exact(block, raw, out) } {
            return;
        }
        for (l, &i) in block.idx.iter().enumerate() {
            if let Some(slot) = out.get_mut(i as usize) {
                *slot = get_lane(raw, bits, l) as u32;
            }
        }
        return;
    }
    let modulus_mask = (1u64 << bits) - 1;
    for (l, &i) in block.idx.iter().enumerate() {
        let m = get_lane(&block.lens, bits, l);
        // The distance lies in [|m - n|, |m - n| + min(m, n)], narrower than 2^BITS.
        let lo = m.abs_diff(n);
        let d = lo + (get_lane(raw, bits, l).wrapping_sub(lo) & modulus_mask);
        if let Some(slot) = out.get_mut(i as usize) {
            *slot = u32::try_from(d).unwrap_or(u32::MAX);
        }
    }
}

/// Bit-parallel Jaro matching for `K` blocks; `text` is 1 to `2 * BITS + 1` bytes. Leaves the
/// match count and half-transposition count per lane in `matches` and `half`.
///
/// # Safety
///
/// The CPU must support `V`'s instruction set, the blocks must be packed for `V`, and
/// `text` must hold 1 to `2 * V::BITS + 1` bytes.
#[inline(always)]
unsafe fn jaro_kernel<V: Lane, const K: usize>(
    blocks: [&Block; K],
    text: &[u8],
    matches: &mut [VecBuf; K],
    half: &mut [VecBuf; K],
) {
    let n = text.len();
    debug_assert!(n >= 1 && n <= 2 * V::BITS as usize + 1);
    // SAFETY: the caller guarantees the instruction set and the text length; loads and
    // stores stay inside the 64-byte images and the `pm` tables.
    unsafe {
        let zero = V::splat(0);
        let one = V::splat(1);
        let mut h = [zero; K];
        let mut countdown = [zero; K];
        let mut low_edge = [V::splat(!0); K];
        let mut matched = [zero; K];
        // Only the first `n` entries are written, then read; no need to zero 16 KiB per call.
        let mut found = [const { MaybeUninit::<[V; K]>::uninit() }; MAX_JARO_TEXT];
        for k in 0..K {
            h[k] = V::load(blocks[k].h0[n].as_ptr());
            countdown[k] = V::load(blocks[k].r0[n].as_ptr());
        }
        // Pass 1: each text byte takes the lowest unmatched equal lane bit inside its window
        // [i - r, i + r]; `h` is the window's upper edge and `low_edge` its lower one, which
        // starts moving once `countdown` (r - i - 1) goes negative.
        for (i, &c) in text.iter().enumerate() {
            let mut hit = [zero; K];
            for k in 0..K {
                let inside = V::and_andnot(load_pm::<V>(blocks[k], c), h[k], matched[k]);
                let cand = inside.and(low_edge[k]);
                let low = cand.and(zero.sub(cand));
                matched[k] = matched[k].or(low);
                hit[k] = low;
                h[k] = h[k].add(h[k]).or(one);
                countdown[k] = countdown[k].sub(one);
                low_edge[k] = low_edge[k].mask_add(countdown[k].negative(), low_edge[k]);
            }
            found[i].write(hit);
        }
        // Pass 2: the k-th matched text byte pairs with the k-th matched lane bit.
        let mut count = [zero; K];
        let mut trans = [zero; K];
        for (i, &c) in text.iter().enumerate() {
            let hit = found[i].assume_init();
            for k in 0..K {
                let cond = hit[k].nonzero();
                let lowest = matched[k].and(zero.sub(matched[k]));
                let miss = load_pm::<V>(blocks[k], c).and_is_zero(lowest);
                trans[k] = trans[k].mask_add(V::both(cond, miss), one);
                count[k] = count[k].mask_add(cond, one);
                matched[k] = matched[k].mask_sub(cond, lowest);
            }
        }
        for k in 0..K {
            count[k].store(matches[k].as_mut_ptr());
            trans[k].store(half[k].as_mut_ptr());
        }
    }
}

/// Jaro (or Jaro-Winkler) similarity of `text` (first argument) against every string of
/// `group`, written to `out[original index]`. `strings` gives the original strings.
///
/// # Safety
///
/// The CPU must support `V`'s instruction set and `group` must be packed for `V`.
#[inline(always)]
pub(crate) unsafe fn jaro_group<V: Lane, const WINKLER: bool>(
    group: &Group,
    strings: &Strings,
    text: &[u8],
    out: &mut [f64],
) {
    let winkler = WINKLER;
    let bits = V::BITS;
    let n = text.len();
    if n == 0 || n > 2 * bits as usize + 1 {
        for block in &group.blocks {
            for &i in &block.idx {
                let s = strings.get(i as usize);
                out[i as usize] = jaro_pair(text, s, winkler);
            }
        }
        return;
    }
    let text_head = head4(text);
    // Every block index is below `strings.len()`; vector scatters need them to fit `i32`.
    let indices_fit = out.len() >= strings.len() && out.len() <= i32::MAX as usize;
    // `m / n` for every possible match count, computed once per text.
    let mut over_n = [0.0f64; 65];
    for (m, v) in over_n.iter_mut().enumerate() {
        *v = m as f64 / n as f64;
    }
    let finish = |block: &Block, mc: &VecBuf, ht: &VecBuf, out: &mut [f64]| {
        finish_jaro::<V, WINKLER>(block, mc, ht, &over_n, text_head, n, indices_fit, out);
    };
    let mut chunks = group.blocks.chunks_exact(JARO_BLOCKS);
    for quad in &mut chunks {
        let mut mc = [[0u8; MAX_BYTES]; JARO_BLOCKS];
        let mut ht = [[0u8; MAX_BYTES]; JARO_BLOCKS];
        let blocks: [&Block; JARO_BLOCKS] = std::array::from_fn(|k| &quad[k]);
        // SAFETY: forwarded from this function's contract; `n` was checked above.
        unsafe { jaro_kernel::<V, JARO_BLOCKS>(blocks, text, &mut mc, &mut ht) };
        for (k, b) in quad.iter().enumerate() {
            finish(b, &mc[k], &ht[k], out);
        }
    }
    for b in chunks.remainder() {
        let mut mc = [[0u8; MAX_BYTES]; 1];
        let mut ht = [[0u8; MAX_BYTES]; 1];
        // SAFETY: forwarded from this function's contract; `n` was checked above.
        unsafe { jaro_kernel::<V, 1>([b], text, &mut mc, &mut ht) };
        finish(b, &mc[0], &ht[0], out);
    }
}

/// Turns lane counts into similarities, written to `out[original index]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn finish_jaro<V: Lane, const WINKLER: bool>(
    block: &Block,
    mc: &VecBuf,
    ht: &VecBuf,
    over_n: &[f64; 65],
    text_head: u32,
    n: usize,
    indices_fit: bool,
    out: &mut [f64],
) {
    // Lengths and counts are at most 64, so each lane's low byte holds them.
    let stride = (V::BITS / 8) as usize;
    let lanes = block.idx.len().min(MAX_BYTES / stride);
    // Short lanes: the whole similarity is one lookup in the table for this text length.
    let small = (V::BITS as usize <= SMALL && n <= SMALL_TEXT)
        .then(|| &small_jaro_table()[n * SMALL_ENTRIES..(n + 1) * SMALL_ENTRIES]);
    if let Some(table) = small {
        // SAFETY: the caller of `jaro_group` guarantees `V`'s instruction set; it checked
        // that `out` covers every string index (`indices_fit`); `table` is this text's slice.
        if indices_fit
            && unsafe { V::finish_jaro_small::<WINKLER>(block, [mc, ht], table, text_head, n, out) }
        {
            return;
        }
    }
    for l in 0..lanes {
        let len = usize::from(block.lens[l * stride]);
        let m = usize::from(mc[l * stride]);
        let half = usize::from(ht[l * stride]);
        let j = match small {
            Some(table) => table.get(small_index(len, m, half / 2)).copied().unwrap_or(0.0),
            None => jaro_from_table(over_n, len, m, half),
        };
        // Computed for every lane so that the threshold compiles to a select, not a branch
        // that random names would mispredict.
        let v = if WINKLER {
            let p = prefix_from_heads(text_head, block.heads[l], n, len);
            let boosted = j + 0.1 * p as f64 * (1.0 - j);
            if j > 0.7 { boosted } else { j }
        } else {
            j
        };
        if let Some(slot) = out.get_mut(block.idx[l] as usize) {
            *slot = v;
        }
    }
}

/// One pair through the scalar bit-parallel path: `a` drives the matching, `b` is searched.
#[inline]
pub(crate) fn jaro_pair(a: &[u8], b: &[u8], winkler: bool) -> f64 {
    let j = bitpar::jaro(a, b);
    if winkler { winkler_boost(j, prefix4(a, b)) } else { j }
}

/// Strings stored contiguously, addressed by index.
pub(crate) struct Strings {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Strings {
    pub(crate) fn new(strings: &[&[u8]]) -> Strings {
        let mut bytes = Vec::with_capacity(strings.iter().map(|s| s.len()).sum());
        let mut ends = Vec::with_capacity(strings.len());
        for s in strings {
            bytes.extend_from_slice(s);
            ends.push(bytes.len());
        }
        Strings { bytes, ends }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// `RATIO[a][b] = a as f64 / b as f64` for `a, b <= 64`: the same IEEE divisions as
/// `jaro_from_counts`, looked up instead of recomputed for every pair.
static RATIO: [[f64; 65]; 65] = {
    let mut t = [[0.0f64; 65]; 65];
    let mut a = 0;
    while a <= 64 {
        let mut b = 1;
        while b <= 64 {
            t[a][b] = a as f64 / b as f64;
            b += 1;
        }
        a += 1;
    }
    t
};

/// `jaro_from_counts(n, len, m, half)` for a text of length `n` (`over_n[m] = m / n`) and a
/// lane string of `len` (1..=64) bytes; bit-identical to it.
#[inline(always)]
fn jaro_from_table(over_n: &[f64; 65], len: usize, m: usize, half: usize) -> f64 {
    if m == 0 {
        return 0.0;
    }
    let m = m.min(64);
    let len = len.min(64);
    let t = (half / 2).min(m);
    (over_n[m] + RATIO[m][len] + RATIO[m - t][m]) / 3.0
}

/// Longest lane string whose Jaro similarities are tabulated in full.
const SMALL: usize = 16;
/// Longest text for the full table (the packed kernel's limit for 16-bit lanes).
const SMALL_TEXT: usize = 2 * SMALL + 1;
/// Entries per text length: lane length, matches (both 0..=16) and transpositions (0..=8).
pub(crate) const SMALL_ENTRIES: usize = (SMALL + 1) * (SMALL + 1) * (SMALL / 2 + 1);

#[inline(always)]
fn small_index(len: usize, m: usize, t: usize) -> usize {
    (len * (SMALL + 1) + m) * (SMALL / 2 + 1) + t
}

/// `jaro_from_counts(n, len, m, 2 * t)` for every text length `n <= SMALL_TEXT` and lane
/// length, match count and transposition count of a string of at most `SMALL` bytes: 680 KiB
/// built once, of which one text uses one 21 KiB slice. Entries are computed by
/// `jaro_from_counts` itself, so lookups are bit-identical to the reference.
fn small_jaro_table() -> &'static [f64] {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![0.0; (SMALL_TEXT + 1) * SMALL_ENTRIES];
        for n in 1..=SMALL_TEXT {
            for len in 1..=SMALL {
                for m in 0..=len.min(n) {
                    for tr in 0..=m / 2 {
                        t[n * SMALL_ENTRIES + small_index(len, m, tr)] =
                            super::reference::jaro_from_counts(n, len, m, 2 * tr);
                    }
                }
            }
        }
        t
    })
}
