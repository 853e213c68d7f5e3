//! AVX2 lane types (256-bit vectors of 8-, 16-, 32- or 64-bit lanes) and entry points.

use core::arch::x86_64::*;

use crate::similarity::batch::{self, Group, Lane, Strings};

macro_rules! avx2_lane {
    ($name:ident, $bits:expr, $set1:ident, $ity:ty, $add:ident, $sub:ident, $cmpeq:ident, $cmpgt:ident) => {
        /// One 256-bit vector of equal-width lanes.
        #[derive(Clone, Copy)]
        pub(crate) struct $name(__m256i);

        // SAFETY: every method only executes AVX2 instructions, which the trait's contract
        // requires the caller to have detected; loads and stores touch exactly 32 bytes.
        unsafe impl Lane for $name {
            const BYTES: usize = 32;
            const BITS: u32 = $bits;
            #[inline(always)]
            unsafe fn splat(v: u64) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { $set1(v as $ity) })
            }
            #[inline(always)]
            unsafe fn load(p: *const u8) -> Self {
                // SAFETY: the caller guarantees 32 readable bytes at `p`; unaligned is allowed.
                Self(unsafe { _mm256_loadu_si256(p.cast()) })
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut u8) {
                // SAFETY: the caller guarantees 32 writable bytes at `p`; unaligned is allowed.
                unsafe { _mm256_storeu_si256(p.cast(), self.0) }
            }
            #[inline(always)]
            unsafe fn and(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { _mm256_and_si256(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn or(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { _mm256_or_si256(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn xor(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { _mm256_xor_si256(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn andnot(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { _mm256_andnot_si256(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn add(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { $add(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn sub(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { $sub(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn eq(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { $cmpeq(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn inc_if(self, x: Self, mask: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract). With one bit set in `mask`,
                // `x & mask == mask` is all ones (-1) exactly where the bit is set.
                unsafe { self.sub(x.and(mask).eq(mask)) }
            }
            #[inline(always)]
            unsafe fn dec_if(self, x: Self, mask: Self) -> Self {
                // SAFETY: as in `inc_if`.
                unsafe { self.add(x.and(mask).eq(mask)) }
            }

            type Mask = Self;
            #[inline(always)]
            unsafe fn nonzero(self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { self.eq(Self::splat(0)).andnot(Self::splat(!0)) }
            }
            #[inline(always)]
            unsafe fn and_is_zero(self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { self.and(o).eq(Self::splat(0)) }
            }
            #[inline(always)]
            unsafe fn negative(self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                Self(unsafe { $cmpgt(_mm256_setzero_si256(), self.0) })
            }
            #[inline(always)]
            unsafe fn both(a: Self, b: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { a.and(b) }
            }
            #[inline(always)]
            unsafe fn mask_add(self, m: Self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { self.add(o.and(m)) }
            }
            #[inline(always)]
            unsafe fn mask_sub(self, m: Self, o: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { self.sub(o.and(m)) }
            }
            #[inline(always)]
            unsafe fn or_not_or(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { a.or(b.or(c).andnot(Self::splat(!0))) }
            }
            #[inline(always)]
            unsafe fn xor_or(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { a.xor(b).or(c) }
            }
            #[inline(always)]
            unsafe fn and_andnot(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: AVX2 is available (trait contract).
                unsafe { c.andnot(a.and(b)) }
            }
        }
    };
}

avx2_lane!(
    U8,
    8,
    _mm256_set1_epi8,
    i8,
    _mm256_add_epi8,
    _mm256_sub_epi8,
    _mm256_cmpeq_epi8,
    _mm256_cmpgt_epi8
);
avx2_lane!(
    U16,
    16,
    _mm256_set1_epi16,
    i16,
    _mm256_add_epi16,
    _mm256_sub_epi16,
    _mm256_cmpeq_epi16,
    _mm256_cmpgt_epi16
);
avx2_lane!(
    U32,
    32,
    _mm256_set1_epi32,
    i32,
    _mm256_add_epi32,
    _mm256_sub_epi32,
    _mm256_cmpeq_epi32,
    _mm256_cmpgt_epi32
);
avx2_lane!(
    U64,
    64,
    _mm256_set1_epi64x,
    i64,
    _mm256_add_epi64,
    _mm256_sub_epi64,
    _mm256_cmpeq_epi64,
    _mm256_cmpgt_epi64
);

/// Levenshtein distances of `text` against a group packed for 32-byte vectors.
///
/// # Safety
///
/// AVX2 must be available and `group` packed with 32-byte vectors.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn levenshtein(group: &Group, text: &[u8], out: &mut [u32]) {
    // SAFETY: AVX2 is enabled here and the group was packed for 32-byte vectors (caller).
    unsafe {
        match group.bits {
            8 => batch::levenshtein_group::<U8>(group, text, out),
            16 => batch::levenshtein_group::<U16>(group, text, out),
            32 => batch::levenshtein_group::<U32>(group, text, out),
            _ => batch::levenshtein_group::<U64>(group, text, out),
        }
    }
}

/// Jaro or Jaro-Winkler similarities of `text` against a group packed for 32-byte vectors.
///
/// # Safety
///
/// AVX2 must be available and `group` packed with 32-byte vectors.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn jaro(group: &Group, strings: &Strings, text: &[u8], wink: bool, out: &mut [f64]) {
    // SAFETY: AVX2 is enabled here and the group was packed for 32-byte vectors (caller).
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
