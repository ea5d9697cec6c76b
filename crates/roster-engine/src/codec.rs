//! A compact binary form for what the engine holds, written to any [`Write`] and read
//! from any [`Read`]: little-endian integers, length-prefixed UTF-8, runs of integers
//! as one block of bytes, bitmaps in roaring's portable form. The app saves the image
//! with it; what it means is each type's own business.
//!
//! Reading trusts a length only so far: it reserves up to 256 MB ahead, then allocates as
//! the bytes arrive, so a damaged length ends in an error at the end of the input, not
//! in a huge allocation.

use std::io::{self, Read, Write};

use chrono::{Datelike, NaiveDate};
use roaring::RoaringBitmap;

/// Writes values one after the other.
#[derive(Debug)]
pub struct Writer<W: Write>(pub W);

impl<W: Write> Writer<W> {
    /// Raw bytes, with no length.
    pub fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.write_all(b)
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> io::Result<()> {
        self.bytes(&[v])
    }

    /// A yes or no, as one byte.
    pub fn bool(&mut self, v: bool) -> io::Result<()> {
        self.u8(u8::from(v))
    }

    /// Four bytes.
    pub fn u32(&mut self, v: u32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Four bytes.
    pub fn i32(&mut self, v: i32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Eight bytes.
    pub fn u64(&mut self, v: u64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Eight bytes.
    pub fn i64(&mut self, v: i64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// A count of what follows.
    pub fn count(&mut self, n: usize) -> io::Result<()> {
        self.u32(u32::try_from(n).map_err(|_| io::Error::other("a list too long to save"))?)
    }

    /// A string.
    pub fn str(&mut self, s: &str) -> io::Result<()> {
        self.u64(s.len() as u64)?;
        self.bytes(s.as_bytes())
    }

    /// A string or none.
    pub fn opt_str(&mut self, s: Option<&str>) -> io::Result<()> {
        self.bool(s.is_some())?;
        s.map_or(Ok(()), |s| self.str(s))
    }

    /// A number or none.
    pub fn opt_i64(&mut self, v: Option<i64>) -> io::Result<()> {
        self.bool(v.is_some())?;
        v.map_or(Ok(()), |v| self.i64(v))
    }

    /// An index or none.
    pub fn opt_u32(&mut self, v: Option<u32>) -> io::Result<()> {
        self.bool(v.is_some())?;
        v.map_or(Ok(()), |v| self.u32(v))
    }

    /// A day, as its number from the common era.
    pub fn day(&mut self, d: NaiveDate) -> io::Result<()> {
        self.i32(d.num_days_from_ce())
    }

    /// A day or none.
    pub fn opt_day(&mut self, d: Option<NaiveDate>) -> io::Result<()> {
        self.bool(d.is_some())?;
        d.map_or(Ok(()), |d| self.day(d))
    }

    /// Ids.
    pub fn ids(&mut self, ids: &[i64]) -> io::Result<()> {
        self.u64(ids.len() as u64)?;
        self.block(ids, |v| v.to_le_bytes())
    }

    /// A run of `u32`, as one block.
    pub fn u32s(&mut self, values: &[u32]) -> io::Result<()> {
        self.u64(values.len() as u64)?;
        self.block(values, |v| v.to_le_bytes())
    }

    /// A run of `i32`, as one block.
    pub fn i32s(&mut self, values: &[i32]) -> io::Result<()> {
        self.u64(values.len() as u64)?;
        self.block(values, |v| v.to_le_bytes())
    }

    /// A run of `f64` (their bits), as one block.
    pub fn f64s(&mut self, values: &[f64]) -> io::Result<()> {
        self.u64(values.len() as u64)?;
        self.block(values, |v| v.to_bits().to_le_bytes())
    }

    fn block<T: Copy, const N: usize>(&mut self, values: &[T], bytes: impl Fn(T) -> [u8; N]) -> io::Result<()> {
        let mut buffer = Vec::with_capacity(values.len().min(1 << 16) * N);
        for chunk in values.chunks(1 << 16) {
            buffer.clear();
            chunk.iter().for_each(|&v| buffer.extend_from_slice(&bytes(v)));
            self.bytes(&buffer)?;
        }
        Ok(())
    }

    /// A bitmap, with its length in bytes first.
    pub fn bitmap(&mut self, b: &RoaringBitmap) -> io::Result<()> {
        self.u64(b.serialized_size() as u64)?;
        b.serialize_into(&mut self.0)
    }
}

/// The most a read reserves ahead of the bytes it is given: a length is believed up to
/// this (the app checks its file's sum before reading it), beyond it memory grows as
/// the bytes arrive.
const RESERVE: u64 = 1 << 28;
/// Values of a run converted at a time.
const PIECE: usize = 1 << 14;

/// Reads values back in the order they were written.
#[derive(Debug)]
pub struct Reader<R: Read>(pub R);

/// An error for input that does not read as what it should be.
pub fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl<R: Read> Reader<R> {
    /// `N` raw bytes.
    pub fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.0.read_exact(&mut b)?;
        Ok(b)
    }

    /// One byte.
    pub fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A yes or no.
    pub fn bool(&mut self) -> io::Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(invalid("a yes or no")),
        }
    }

    /// Four bytes.
    pub fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Four bytes.
    pub fn i32(&mut self) -> io::Result<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    /// Eight bytes.
    pub fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Eight bytes.
    pub fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A count of what follows.
    pub fn count(&mut self) -> io::Result<usize> {
        Ok(self.u32()? as usize)
    }

    /// Exactly `len` bytes, allocated up to [`RESERVE`] at once, then as they arrive.
    fn raw(&mut self, len: u64) -> io::Result<Vec<u8>> {
        let mut b = Vec::with_capacity(usize::try_from(len.min(RESERVE)).unwrap_or(0));
        (&mut self.0).take(len).read_to_end(&mut b)?;
        if b.len() as u64 != len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(b)
    }

    /// A string.
    pub fn str(&mut self) -> io::Result<String> {
        let len = self.u64()?;
        String::from_utf8(self.raw(len)?).map_err(|_| invalid("a string that is not UTF-8"))
    }

    /// A string or none.
    pub fn opt_str(&mut self) -> io::Result<Option<String>> {
        Ok(if self.bool()? { Some(self.str()?) } else { None })
    }

    /// A number or none.
    pub fn opt_i64(&mut self) -> io::Result<Option<i64>> {
        Ok(if self.bool()? { Some(self.i64()?) } else { None })
    }

    /// An index or none.
    pub fn opt_u32(&mut self) -> io::Result<Option<u32>> {
        Ok(if self.bool()? { Some(self.u32()?) } else { None })
    }

    /// A day.
    pub fn day(&mut self) -> io::Result<NaiveDate> {
        NaiveDate::from_num_days_from_ce_opt(self.i32()?).ok_or_else(|| invalid("a day out of range"))
    }

    /// A day or none.
    pub fn opt_day(&mut self) -> io::Result<Option<NaiveDate>> {
        Ok(if self.bool()? { Some(self.day()?) } else { None })
    }

    /// A run of values of `N` bytes each, converted a piece at a time as they are read
    /// (no second copy of the whole run in bytes).
    fn block<T, const N: usize>(&mut self, value: impl Fn([u8; N]) -> T) -> io::Result<Vec<T>> {
        let len = self.u64()?;
        let bytes = len.checked_mul(N as u64).ok_or_else(|| invalid("a run too long"))?;
        let mut values = Vec::with_capacity(usize::try_from(bytes.min(RESERVE) / N as u64).unwrap_or(0));
        let mut piece = vec![0u8; PIECE * N];
        let mut left = len;
        while left > 0 {
            let n = usize::try_from(left.min(PIECE as u64)).unwrap_or(PIECE);
            self.0.read_exact(&mut piece[..n * N])?;
            values.extend(piece[..n * N].chunks_exact(N).map(|c| value(c.try_into().unwrap_or([0; N]))));
            left -= n as u64;
        }
        Ok(values)
    }

    /// Ids.
    pub fn ids(&mut self) -> io::Result<Vec<i64>> {
        self.block(i64::from_le_bytes)
    }

    /// A run of `u32`.
    pub fn u32s(&mut self) -> io::Result<Vec<u32>> {
        self.block(u32::from_le_bytes)
    }

    /// A run of `i32`.
    pub fn i32s(&mut self) -> io::Result<Vec<i32>> {
        self.block(i32::from_le_bytes)
    }

    /// A run of `f64`.
    pub fn f64s(&mut self) -> io::Result<Vec<f64>> {
        self.block(|b| f64::from_bits(u64::from_le_bytes(b)))
    }

    /// A bitmap, checked as it is read.
    pub fn bitmap(&mut self) -> io::Result<RoaringBitmap> {
        let len = self.u64()?;
        let mut part = (&mut self.0).take(len);
        let bitmap = RoaringBitmap::deserialize_from(&mut part)?;
        if part.limit() != 0 {
            return Err(invalid("a bitmap longer than it says"));
        }
        Ok(bitmap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_written_and_a_cut_input_fails() {
        let mut w = Writer(Vec::new());
        w.u8(7).unwrap();
        w.str("Émile").unwrap();
        w.opt_str(None).unwrap();
        w.u32s(&[1, u32::MAX, 3]).unwrap();
        w.f64s(&[1.5, f64::NAN]).unwrap();
        w.i32s(&[-4]).unwrap();
        w.ids(&[-1, 1 << 40]).unwrap();
        w.opt_day(NaiveDate::from_ymd_opt(2026, 12, 7)).unwrap();
        w.bitmap(&(0..100_000).collect()).unwrap();
        let bytes = w.0;
        let mut r = Reader(&bytes[..]);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.str().unwrap(), "Émile");
        assert_eq!(r.opt_str().unwrap(), None);
        assert_eq!(r.u32s().unwrap(), vec![1, u32::MAX, 3]);
        let floats = r.f64s().unwrap();
        assert!(floats[0] == 1.5 && floats[1].is_nan());
        assert_eq!(r.i32s().unwrap(), vec![-4]);
        assert_eq!(r.ids().unwrap(), vec![-1, 1 << 40]);
        assert_eq!(r.opt_day().unwrap(), NaiveDate::from_ymd_opt(2026, 12, 7));
        assert_eq!(r.bitmap().unwrap().len(), 100_000);
        assert!(r.u8().is_err());
        let read_all = |r: &mut Reader<&[u8]>| -> io::Result<RoaringBitmap> {
            let _ = (r.u8()?, r.str()?, r.opt_str()?, r.u32s()?, r.f64s()?, r.i32s()?, r.ids()?, r.opt_day()?);
            r.bitmap()
        };
        assert!(read_all(&mut Reader(&bytes[..])).is_ok());
        assert!(read_all(&mut Reader(&bytes[..bytes.len() - 3])).is_err());
        assert_eq!(Reader(&bytes[1..15]).str().unwrap(), "Émile");
        assert!(Reader(&bytes[1..12]).str().is_err());
    }
}
