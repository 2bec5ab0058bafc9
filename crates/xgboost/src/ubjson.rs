//! Universal Binary JSON as xgboost writes it (`UBJWriter`, `src/common/json.cc`): big-
//! endian numbers, keys as `L`-length strings, typed arrays `[$<type>#L<count>` of `d`
//! (float32), `U` (uint8), `l` (int32) or `L` (int64), and the scalar markers `Z T F d i U
//! I l L C S`. Read into a `serde_json::Value` of the same shape as the JSON model, with
//! every length checked against the bytes left and nesting bounded. A float that is not
//! finite becomes `null` (JSON has no NaN): the model loader refuses it where it matters.

use serde_json::{Map, Number, Value};

use crate::LoadError;

/// Deeper than any model xgboost writes (its nesting is under 10).
const MAX_DEPTH: usize = 64;

/// The whole buffer as one value.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, LoadError> {
    let mut r = Reader { bytes, pos: 0 };
    let value = r.value(0)?;
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

impl Reader<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, LoadError> {
        Err(LoadError::malformed(format!(
            "UBJSON at byte {}: {what}",
            self.pos
        )))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], LoadError> {
        match self.pos.checked_add(n).filter(|&end| end <= self.bytes.len()) {
            Some(end) => {
                let out = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => self.fail(&format!(
                "{n} more bytes needed, {} left",
                self.bytes.len() - self.pos
            )),
        }
    }

    fn byte(&mut self) -> Result<u8, LoadError> {
        Ok(self.take(1)?[0])
    }

    fn peek(&self) -> Result<u8, LoadError> {
        self.bytes
            .get(self.pos)
            .copied()
            .map_or_else(|| self.fail("the data ends inside a value"), Ok)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LoadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn expect(&mut self, marker: u8) -> Result<(), LoadError> {
        let got = self.byte()?;
        if got == marker {
            Ok(())
        } else {
            self.pos -= 1;
            self.fail(&format!("expected {:?}, found {:?}", marker as char, got as char))
        }
    }

    /// An `L`-prefixed count that fits in what is left (each item at least `item_bytes`).
    fn count(&mut self, item_bytes: usize) -> Result<usize, LoadError> {
        self.expect(b'L')?;
        let n = i64::from_be_bytes(self.array()?);
        let left = self.bytes.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(item_bytes.max(1)) <= left => Ok(n),
            _ => self.fail(&format!("a count of {n} with {left} bytes left")),
        }
    }

    fn string(&mut self) -> Result<String, LoadError> {
        let n = self.count(1)?;
        let raw = self.take(n)?;
        String::from_utf8(raw.to_vec()).or_else(|_| self.fail("a string that is not UTF-8"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, LoadError> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deep");
        }
        let marker = self.byte()?;
        self.scalar_or_container(marker, depth)
    }

    fn scalar_or_container(&mut self, marker: u8, depth: usize) -> Result<Value, LoadError> {
        Ok(match marker {
            b'{' => self.object(depth)?,
            b'[' => self.list(depth)?,
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'd' => float(f64::from(f32::from_be_bytes(self.array()?))),
            b'D' => float(f64::from_be_bytes(self.array()?)),
            b'i' => Value::from(i8::from_be_bytes(self.array()?)),
            b'U' | b'C' => Value::from(self.byte()?),
            b'I' => Value::from(i16::from_be_bytes(self.array()?)),
            b'l' => Value::from(i32::from_be_bytes(self.array()?)),
            b'L' => Value::from(i64::from_be_bytes(self.array()?)),
            b'S' => Value::String(self.string()?),
            other => {
                self.pos -= 1;
                return self.fail(&format!("unknown marker {:?}", other as char));
            }
        })
    }

    fn object(&mut self, depth: usize) -> Result<Value, LoadError> {
        let mut map = Map::new();
        while self.peek()? != b'}' {
            let key = self.string()?;
            let value = self.value(depth + 1)?;
            map.insert(key, value);
        }
        self.pos += 1;
        Ok(Value::Object(map))
    }

    fn list(&mut self, depth: usize) -> Result<Value, LoadError> {
        match self.peek()? {
            b'$' => {
                self.pos += 1;
                let kind = self.byte()?;
                self.expect(b'#')?;
                let size = match kind {
                    b'd' | b'l' => 4,
                    b'U' => 1,
                    b'L' => 8,
                    other => {
                        self.pos -= 1;
                        return self.fail(&format!("typed arrays of {:?} are not xgboost's", other as char));
                    }
                };
                let n = self.count(size)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.scalar_or_container(kind, depth)?);
                }
                Ok(Value::Array(items))
            }
            b'#' => {
                self.pos += 1;
                let n = self.count(1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            _ => {
                let mut items = Vec::new();
                while self.peek()? != b']' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::Array(items))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xgboost_shapes_read_and_hostile_ones_are_refused() {
        // {"a": [$d#L 2: 0.5, -1.0], "s": "x"}
        let mut b = vec![b'{', b'L'];
        b.extend(1i64.to_be_bytes());
        b.extend(b"a[$d#L");
        b.extend(2i64.to_be_bytes());
        b.extend(0.5f32.to_be_bytes());
        b.extend((-1.0f32).to_be_bytes());
        b.push(b'L');
        b.extend(1i64.to_be_bytes());
        b.extend(b"sSL");
        b.extend(1i64.to_be_bytes());
        b.extend(b"x}");
        assert_eq!(
            parse(&b).unwrap(),
            serde_json::json!({"a": [0.5, -1.0], "s": "x"})
        );
        let mut huge = b"[$d#L".to_vec();
        huge.extend(i64::MAX.to_be_bytes());
        assert!(parse(&huge).unwrap_err().to_string().contains("a count of"));
        assert!(parse(&[b'['; 100]).unwrap_err().to_string().contains("too deep"));
        assert!(parse(b"{").is_err());
        assert!(parse(b"Q").unwrap_err().to_string().contains("unknown marker"));
    }
}
