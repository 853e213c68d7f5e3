//! AVX-512 (F + BW) lane types (512-bit vectors of 8-, 16-, 32- or 64-bit lanes) and entry points.

use core::arch::x86_64::*;

use crate::similarity::batch::{self, Group, Lane, Strings};

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
pub(crate) unsafe fn jaro(
    group: &Group,
    strings: &Strings,
    text: &[u8],
    wink: bool,
    out: &mut [f64],
) {
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
