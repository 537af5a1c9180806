//! Sections whose size is known only once their contents are written: a
//! five-byte LEB128 holds the size's place and is filled in at the end (a
//! LEB128 may take more bytes than its value needs). The fused module is
//! written this way into the output component, and the DWARF sections
//! into the fused module, each straight into its final buffer.

/// Starts a section with id `id` at the end of `buf`; returns where its
/// contents start.
pub(crate) fn open(buf: &mut Vec<u8>, id: u8) -> usize {
    buf.push(id);
    buf.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0]);
    buf.len()
}

/// Fills in the size of the section [`open`] started, whose contents
/// start at `contents` and run to the end of `buf`; `None` when they are
/// 4 GiB or more.
pub(crate) fn close(buf: &mut [u8], contents: usize) -> Option<()> {
    let size = u32::try_from(buf.len().checked_sub(contents)?).ok()?;
    let place = buf.get_mut(contents.checked_sub(5)?..contents)?;
    padded_uleb(place, size).then_some(())
}

/// Writes `v` as a LEB128 of exactly `dst.len()` bytes, if it fits.
pub(crate) fn padded_uleb(dst: &mut [u8], mut v: u32) -> bool {
    let n = dst.len();
    for (i, b) in dst.iter_mut().enumerate() {
        *b = (v & 0x7f) as u8 | if i + 1 < n { 0x80 } else { 0 };
        v >>= 7;
    }
    v == 0 && n > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_is_filled_in_as_a_five_byte_leb128() {
        let mut buf = vec![9];
        let contents = open(&mut buf, 1);
        buf.extend_from_slice(&[7; 300]);
        assert_eq!(close(&mut buf, contents), Some(()));
        assert_eq!(&buf[..7], &[9, 1, 0xac, 0x82, 0x80, 0x80, 0]);
        let mut reader = wasmparser::BinaryReader::new(&buf[2..7], 0);
        assert_eq!(reader.read_var_u32().ok(), Some(300));
    }

    #[test]
    fn a_value_that_does_not_fit_is_refused() {
        let mut out = [0u8; 3];
        assert!(padded_uleb(&mut out, 300));
        assert_eq!(out, [0xac, 0x82, 0x00]);
        assert!(!padded_uleb(&mut out[..1], 300));
    }
}
