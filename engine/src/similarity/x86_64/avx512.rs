//! AVX-512 (F + BW) lane types (512-bit vectors of 8-, 16-, 32- or 64-bit lanes) and entry points.

use core::arch::x86_64::*;

use crate::similarity::batch::{self, Block, Group, Lane, SMALL_ENTRIES, Strings};

macro_rules! avx512_lane {
    ($name:ident, $bits:expr, $set1:ident, $ity:ty, $add:ident, $sub:ident, $cmpeq:ident, $movz:ident, $test:ident, $madd:ident, $msub:ident, $mty:ty, $testn:ident, $cmplt:ident) => {
        /// One 512-bit vector of equal-width lanes.
        #[derive(Clone, Copy)]
        pub(crate) struct $name(__m512i);

        // SAFETY: every method only executes AVX-512 (F and BW) instructions, which the trait's contract
        // requires the caller to have detected; loads and stores touch exactly 64 bytes.
        unsafe impl Lane for $name {
            const BYTES: usize = 64;
            const BITS: u32 = $bits;
            #[inline(always)]
            unsafe fn splat(v: u64) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $set1(v as $ity) })
            }
            #[inline(always)]
            unsafe fn load(p: *const u8) -> Self {
                // SAFETY: the caller guarantees 32 readable bytes at `p`; unaligned is allowed.
                Self(unsafe { _mm512_loadu_si512(p.cast()) })
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut u8) {
                // SAFETY: the caller guarantees 32 writable bytes at `p`; unaligned is allowed.
                unsafe { _mm512_storeu_si512(p.cast(), self.0) }
            }
            #[inline(always)]
            unsafe fn and(self, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { _mm512_and_si512(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn or(self, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { _mm512_or_si512(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn xor(self, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { _mm512_xor_si512(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn andnot(self, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { _mm512_andnot_si512(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn add(self, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $add(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn sub(self, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $sub(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn eq(self, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $movz($cmpeq(self.0, o.0), _mm512_set1_epi8(-1)) })
            }
            #[inline(always)]
            unsafe fn inc_if(self, x: Self, mask: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $madd(self.0, $test(x.0, mask.0), self.0, $set1(1)) })
            }
            #[inline(always)]
            unsafe fn dec_if(self, x: Self, mask: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $msub(self.0, $test(x.0, mask.0), self.0, $set1(1)) })
            }

            type Mask = $mty;
            #[inline(always)]
            unsafe fn nonzero(self) -> $mty {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                unsafe { $test(self.0, self.0) }
            }
            #[inline(always)]
            unsafe fn and_is_zero(self, o: Self) -> $mty {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                unsafe { $testn(self.0, o.0) }
            }
            #[inline(always)]
            unsafe fn negative(self) -> $mty {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                unsafe { $cmplt(self.0, _mm512_setzero_si512()) }
            }
            #[inline(always)]
            unsafe fn both(a: $mty, b: $mty) -> $mty {
                a & b
            }
            #[inline(always)]
            unsafe fn mask_add(self, m: $mty, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $madd(self.0, m, self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn mask_sub(self, m: $mty, o: Self) -> Self {
                // SAFETY: AVX-512 (F and BW) is available (trait contract).
                Self(unsafe { $msub(self.0, m, self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn or_not_or(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: AVX-512 F is available (trait contract). Truth table of
                // `a | !(b | c)` over a = 0xF0, b = 0xCC, c = 0xAA.
                Self(unsafe { _mm512_ternarylogic_epi64::<0xF1>(a.0, b.0, c.0) })
            }
            #[inline(always)]
            unsafe fn xor_or(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: as above; `(a ^ b) | c`.
                Self(unsafe { _mm512_ternarylogic_epi64::<0xBE>(a.0, b.0, c.0) })
            }
            #[inline(always)]
            unsafe fn and_andnot(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: as above; `a & b & !c`.
                Self(unsafe { _mm512_ternarylogic_epi64::<0x40>(a.0, b.0, c.0) })
            }
            #[inline(always)]
            unsafe fn finish_levenshtein_exact(block: &Block, raw: &[u8; 64], out: &mut [u32]) -> bool {
                if $bits > 16 {
                    return false;
                }
                // SAFETY: AVX-512 is available (trait contract); `out` covers the block's
                // indices and they fit `i32` (caller).
                unsafe { scatter_distances::<$bits>(block, raw, out) };
                true
            }
            #[inline(always)]
            unsafe fn finish_jaro_small<const WINKLER: bool>(
                block: &Block,
                counts: [&[u8; 64]; 2],
                table: &[f64],
                text_head: u32,
                n: usize,
                out: &mut [f64],
            ) -> bool {
                if $bits > 16 || table.len() < SMALL_ENTRIES {
                    return false;
                }
                // SAFETY: AVX-512 is available (trait contract); the lanes are 8 or 16 bits
                // wide, `table` is long enough and `out` covers the block's indices (caller).
                unsafe {
                    let [mc, ht] = counts;
                    let load = |b: &[u8; 64]| _mm512_loadu_si512(b.as_ptr().cast());
                    let (len, m, t) = (load(&block.lens), load(mc), load(ht));
                    if $bits == 16 {
                        finish_jaro_32::<WINKLER>(block, 0, [len, m, t], table, text_head, n, out);
                    } else {
                        // Widen each half of the 64 byte lanes to 32 16-bit lanes.
                        let lo = |v| _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v));
                        let hi = |v| _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64::<1>(v));
                        finish_jaro_32::<WINKLER>(
                            block,
                            0,
                            [lo(len), lo(m), lo(t)],
                            table,
                            text_head,
                            n,
                            out,
                        );
                        finish_jaro_32::<WINKLER>(
                            block,
                            32,
                            [hi(len), hi(m), hi(t)],
                            table,
                            text_head,
                            n,
                            out,
                        );
                    }
                }
                true
            }
        }
    };
}

avx512_lane!(
    U8,
    8,
    _mm512_set1_epi8,
    i8,
    _mm512_add_epi8,
    _mm512_sub_epi8,
    _mm512_cmpeq_epi8_mask,
    _mm512_maskz_mov_epi8,
    _mm512_test_epi8_mask,
    _mm512_mask_add_epi8,
    _mm512_mask_sub_epi8,
    __mmask64,
    _mm512_testn_epi8_mask,
    _mm512_cmplt_epi8_mask
);
avx512_lane!(
    U16,
    16,
    _mm512_set1_epi16,
    i16,
    _mm512_add_epi16,
    _mm512_sub_epi16,
    _mm512_cmpeq_epi16_mask,
    _mm512_maskz_mov_epi16,
    _mm512_test_epi16_mask,
    _mm512_mask_add_epi16,
    _mm512_mask_sub_epi16,
    __mmask32,
    _mm512_testn_epi16_mask,
    _mm512_cmplt_epi16_mask
);
avx512_lane!(
    U32,
    32,
    _mm512_set1_epi32,
    i32,
    _mm512_add_epi32,
    _mm512_sub_epi32,
    _mm512_cmpeq_epi32_mask,
    _mm512_maskz_mov_epi32,
    _mm512_test_epi32_mask,
    _mm512_mask_add_epi32,
    _mm512_mask_sub_epi32,
    __mmask16,
    _mm512_testn_epi32_mask,
    _mm512_cmplt_epi32_mask
);
avx512_lane!(
    U64,
    64,
    _mm512_set1_epi64,
    i64,
    _mm512_add_epi64,
    _mm512_sub_epi64,
    _mm512_cmpeq_epi64_mask,
    _mm512_maskz_mov_epi64,
    _mm512_test_epi64_mask,
    _mm512_mask_add_epi64,
    _mm512_mask_sub_epi64,
    __mmask8,
    _mm512_testn_epi64_mask,
    _mm512_cmplt_epi64_mask
);

/// Levenshtein distances of `text` against a group packed for 64-byte vectors.
///
/// # Safety
///
/// AVX-512 (F and BW) must be available and `group` packed with 64-byte vectors.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn levenshtein(group: &Group, text: &[u8], out: &mut [u32]) {
    // SAFETY: AVX-512 (F and BW) is enabled here and the group was packed for 64-byte vectors (caller).
    unsafe {
        match group.bits {
            8 => batch::levenshtein_group::<U8>(group, text, out),
            16 => batch::levenshtein_group::<U16>(group, text, out),
            32 => batch::levenshtein_group::<U32>(group, text, out),
            _ => batch::levenshtein_group::<U64>(group, text, out),
        }
    }
}

/// Jaro or Jaro-Winkler similarities of `text` against a group packed for 64-byte vectors.
///
/// # Safety
///
/// AVX-512 (F and BW) must be available and `group` packed with 64-byte vectors.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn jaro(group: &Group, strings: &Strings, text: &[u8], wink: bool, out: &mut [f64]) {
    // SAFETY: AVX-512 (F and BW) is enabled here and the group was packed for 64-byte vectors (caller).
    unsafe {
        match group.bits {
            8 => match wink {
                true => batch::jaro_group::<U8, true>(group, strings, text, out),
                false => batch::jaro_group::<U8, false>(group, strings, text, out),
            },
            16 => match wink {
                true => batch::jaro_group::<U16, true>(group, strings, text, out),
                false => batch::jaro_group::<U16, false>(group, strings, text, out),
            },
            32 => match wink {
                true => batch::jaro_group::<U32, true>(group, strings, text, out),
                false => batch::jaro_group::<U32, false>(group, strings, text, out),
            },
            _ => match wink {
                true => batch::jaro_group::<U64, true>(group, strings, text, out),
                false => batch::jaro_group::<U64, false>(group, strings, text, out),
            },
        }
    }
}

/// Jaro(-Winkler) scores of 32 lanes of a block, from lane `first` on, given their lengths,
/// match counts and half-transposition counts as 16-bit lanes: table gathers, prefix and boost
/// in f64 vectors, scattered to `out[idx]`. Bit-identical to the scalar `finish_jaro`: the same
/// table entries and the same IEEE operations in the same order.
///
/// # Safety
///
/// AVX-512 F and BW must be available, `first` must be 0 or 32, `table` must hold at least
/// `SMALL_ENTRIES` values, and every index of `block` must be below `out.len()` and `i32::MAX`.
#[inline(always)]
unsafe fn finish_jaro_32<const WINKLER: bool>(
    block: &Block,
    first: usize,
    [len16, m16, ht16]: [__m512i; 3],
    table: &[f64],
    text_head: u32,
    n: usize,
    out: &mut [f64],
) {
    // SAFETY: the caller guarantees the instruction set; every load reads one of the 64-byte
    // (or 64-entry) arrays at an offset that leaves 64 bytes; gather offsets are clamped to
    // `SMALL_ENTRIES - 1` and scatter offsets are block indices below `out.len()` (caller),
    // and only the block's own lanes are scattered.
    unsafe {
        let t16 = _mm512_srli_epi16::<1>(ht16);
        // key = (len * 17 + m) * 9 + t, the table's layout (`small_index`).
        let x = _mm512_add_epi16(_mm512_add_epi16(_mm512_slli_epi16::<4>(len16), len16), m16);
        let key = _mm512_add_epi16(_mm512_add_epi16(_mm512_slli_epi16::<3>(x), x), t16);
        let key = _mm512_min_epu16(key, _mm512_set1_epi16((SMALL_ENTRIES - 1) as i16));
        let lanes = block.idx.len().saturating_sub(first).min(32);
        if lanes == 0 {
            return;
        }
        let valid: u32 = if lanes == 32 { !0 } else { (1u32 << lanes) - 1 };
        let cap = _mm512_set1_epi32(n.min(4) as i32);
        let th = _mm512_set1_epi32(text_head as i32);
        for half in 0..2 {
            let (k256, l256) = if half == 0 {
                (_mm512_castsi512_si256(key), _mm512_castsi512_si256(len16))
            } else {
                (_mm512_extracti64x4_epi64::<1>(key), _mm512_extracti64x4_epi64::<1>(len16))
            };
            let key32 = _mm512_cvtepu16_epi32(k256);
            let len32 = _mm512_cvtepu16_epi32(l256);
            let idx32 = _mm512_loadu_si512(block.idx_padded.as_ptr().add(first + 16 * half).cast());
            // Common prefix in bytes: trailing zero bits of heads ^ text head, / 8, found as
            // the float exponent of the lowest set bit; equal heads give 4.
            let x =
                _mm512_xor_si512(_mm512_loadu_si512(block.heads.as_ptr().add(first + 16 * half).cast()), th);
            let low = _mm512_and_si512(x, _mm512_sub_epi32(_mm512_setzero_si512(), x));
            let exp = _mm512_srli_epi32::<23>(_mm512_castps_si512(_mm512_cvtepu32_ps(low)));
            let tz = _mm512_sub_epi32(exp, _mm512_set1_epi32(127));
            let p = _mm512_srli_epi32::<3>(tz);
            let p = _mm512_mask_mov_epi32(
                p,
                _mm512_cmpeq_epi32_mask(x, _mm512_setzero_si512()),
                _mm512_set1_epi32(4),
            );
            let p = _mm512_min_epu32(p, _mm512_min_epu32(len32, cap));
            for quarter in 0..2 {
                let (kq, pq, iq) = if quarter == 0 {
                    (_mm512_castsi512_si256(key32), _mm512_castsi512_si256(p), _mm512_castsi512_si256(idx32))
                } else {
                    (
                        _mm512_extracti64x4_epi64::<1>(key32),
                        _mm512_extracti64x4_epi64::<1>(p),
                        _mm512_extracti64x4_epi64::<1>(idx32),
                    )
                };
                let k8 = ((valid >> (16 * half + 8 * quarter)) & 0xFF) as __mmask8;
                if k8 == 0 {
                    continue;
                }
                let j = _mm512_i32gather_pd::<8>(kq, table.as_ptr().cast());
                let v = if WINKLER {
                    let boost = _mm512_mul_pd(
                        _mm512_mul_pd(_mm512_set1_pd(0.1), _mm512_cvtepi32_pd(pq)),
                        _mm512_sub_pd(_mm512_set1_pd(1.0), j),
                    );
                    let above = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(j, _mm512_set1_pd(0.7));
                    _mm512_mask_blend_pd(above, j, _mm512_add_pd(j, boost))
                } else {
                    j
                };
                _mm512_mask_i32scatter_pd::<8>(out.as_mut_ptr().cast(), k8, iq, v);
            }
        }
    }
}

/// Writes the exact distances of a block of 8- or 16-bit lanes to `out[idx]`: widened to 32
/// bits and scattered 16 lanes at a time.
///
/// # Safety
///
/// AVX-512 F and BW must be available, `BITS` must be 8 or 16, and every index of `block` must
/// be below `out.len()` and `i32::MAX`.
#[inline(always)]
unsafe fn scatter_distances<const BITS: u32>(block: &Block, raw: &[u8; 64], out: &mut [u32]) {
    let lanes = block.idx.len();
    // SAFETY: the caller guarantees the instruction set; loads read the 64-byte `raw` and the
    // 64-entry `idx_padded`; only the block's own lanes are scattered, to indices below
    // `out.len()` (caller).
    unsafe {
        let v = _mm512_loadu_si512(raw.as_ptr().cast());
        for part in 0..(512 / BITS as usize / 16) {
            let first = 16 * part;
            if first >= lanes {
                break;
            }
            let wide = if BITS == 16 {
                _mm512_cvtepu16_epi32(if part == 0 {
                    _mm512_castsi512_si256(v)
                } else {
                    _mm512_extracti64x4_epi64::<1>(v)
                })
            } else {
                _mm512_cvtepu8_epi32(match part {
                    0 => _mm512_castsi512_si128(v),
                    1 => _mm512_extracti32x4_epi32::<1>(v),
                    2 => _mm512_extracti32x4_epi32::<2>(v),
                    _ => _mm512_extracti32x4_epi32::<3>(v),
                })
            };
            let left = lanes - first;
            let k: __mmask16 = if left >= 16 { !0 } else { (1u16 << left) - 1 };
            let idx = _mm512_loadu_si512(block.idx_padded.as_ptr().add(first).cast());
            _mm512_mask_i32scatter_epi32::<4>(out.as_mut_ptr().cast(), k, idx, wide);
        }
    }
}
