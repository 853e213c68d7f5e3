//! Uniform access to text columns, whichever of Arrow's three string layouts they use.

use arrow_array::{Array, LargeStringArray, StringArray, StringViewArray};
use arrow_schema::DataType;

/// A borrowed text column: Utf8, LargeUtf8 or Utf8View.
#[derive(Clone, Copy, Debug)]
pub enum TextColumn<'a> {
    /// 32-bit offsets.
    Utf8(&'a StringArray),
    /// 64-bit offsets.
    LargeUtf8(&'a LargeStringArray),
    /// String views.
    Utf8View(&'a StringViewArray),
}

impl<'a> TextColumn<'a> {
    /// Views `array` as text; `None` when it is not a string array.
    pub fn new(array: &'a dyn Array) -> Option<Self> {
        let any = array.as_any();
        match array.data_type() {
            DataType::Utf8 => any.downcast_ref().map(TextColumn::Utf8),
            DataType::LargeUtf8 => any.downcast_ref().map(TextColumn::LargeUtf8),
            DataType::Utf8View => any.downcast_ref().map(TextColumn::Utf8View),
            _ => None,
        }
    }

    /// Number of values, nulls included.
    pub fn len(&self) -> usize {
        match self {
            TextColumn::Utf8(a) => a.len(),
            TextColumn::LargeUtf8(a) => a.len(),
            TextColumn::Utf8View(a) => a.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `index`, `None` when null. Panics when `index` is out of bounds.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&'a str> {
        match self {
            TextColumn::Utf8(a) => a.is_valid(index).then(|| a.value(index)),
            TextColumn::LargeUtf8(a) => a.is_valid(index).then(|| a.value(index)),
            TextColumn::Utf8View(a) => a.is_valid(index).then(|| a.value(index)),
        }
    }

    /// The first row whose value satisfies `test` (nulls are skipped), matching the layout once.
    pub fn position(&self, mut test: impl FnMut(&str) -> bool) -> Option<usize> {
        match self {
            TextColumn::Utf8(a) => a.iter().position(|v| v.is_some_and(&mut test)),
            TextColumn::LargeUtf8(a) => a.iter().position(|v| v.is_some_and(&mut test)),
            TextColumn::Utf8View(a) => a.iter().position(|v| v.is_some_and(&mut test)),
        }
    }

    /// The first row whose value's length in bytes satisfies `test` (nulls are skipped), read
    /// from the offsets or views without touching the values.
    pub fn position_by_length(&self, test: impl Fn(usize) -> bool) -> Option<usize> {
        fn by_offsets<O: arrow_array::OffsetSizeTrait>(
            array: &arrow_array::GenericStringArray<O>,
            test: impl Fn(usize) -> bool,
        ) -> Option<usize> {
            let offsets = array.value_offsets();
            (0..array.len()).find(|&i| array.is_valid(i) && test((offsets[i + 1] - offsets[i]).as_usize()))
        }
        match self {
            TextColumn::Utf8(a) => by_offsets(a, test),
            TextColumn::LargeUtf8(a) => by_offsets(a, test),
            // A view's low 32 bits are the value's length.
            TextColumn::Utf8View(a) => a
                .views()
                .iter()
                .enumerate()
                .position(|(i, view)| a.is_valid(i) && test(*view as u32 as usize)),
        }
    }

    /// Iterates over the values, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<&'a str>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}
