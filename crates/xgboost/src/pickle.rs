//! A Python pickle of an `xgboost.core.Booster`, read only as far as the Booster's state
//! needs — never executed. The containers that pickled their model (0.90, 1.0, 1.2)
//! wrote `pickle.dump(booster)`, whose `__getstate__` is the Booster's `__dict__` with
//! `handle` replaced by the model's bytes:
//!
//! | writer | `handle` holds |
//! |---|---|
//! | 0.90 | the legacy binary model (`save_raw`, no `binf` header, `base_score` a margin) |
//! | 1.0 – 1.2 | `CONFIG-offset:` + the binary model's length (i64) + the binary model + JSON config |
//! | 1.3 and later | a memory snapshot `{"Model": …, "Config": …}` (JSON, or UBJSON from 1.6) |
//!
//! The reader is a small pickle machine that knows the opcodes such a pickle uses and
//! builds values, and only four callables may appear: `xgboost.core.Booster` (through
//! `NEWOBJ` or `copyreg._reconstructor`), `builtins.bytearray` and `_codecs.encode` (how
//! bytes are pickled). Any other global — anything that could run code — is refused by
//! name. The 0.90 container predicts with the pickle's `best_ntree_limit`; so does this.

use std::collections::BTreeMap;

use crate::model::{Booster, Format};
use crate::{binary, json, ubjson, LoadError};

/// More memo entries or stack items than any Booster pickle has.
const MAX_ITEMS: usize = 1 << 16;

#[derive(Debug, Clone, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Py>),
    Tuple(Vec<Py>),
    Dict(Vec<(Py, Py)>),
    Global(String, String),
    Booster(Option<Box<Py>>),
    Mark,
}

/// The Booster in a pickle.
pub(crate) fn load(bytes: &[u8]) -> Result<Booster, LoadError> {
    let state = match Machine::new(bytes).run()? {
        Py::Booster(Some(state)) => *state,
        Py::Booster(None) => return Err(LoadError::malformed("the pickled Booster has no state")),
        other => {
            return Err(LoadError::Unsupported(format!(
                "the pickle holds {}, not an xgboost Booster",
                describe(&other)
            )))
        }
    };
    let Py::Dict(items) = state else {
        return Err(LoadError::malformed("the pickled Booster's state is not a dict"));
    };
    let field = |name: &str| {
        items
            .iter()
            .find(|(k, _)| *k == Py::Str(name.into()))
            .map(|(_, v)| v)
    };
    let handle = match field("handle") {
        Some(Py::Bytes(b)) => b,
        Some(Py::None) | None => {
            return Err(LoadError::malformed(
                "the pickled Booster has no model (handle is None)",
            ))
        }
        Some(other) => {
            return Err(LoadError::malformed(format!(
                "the Booster's handle is {}",
                describe(other)
            )))
        }
    };
    let mut booster = from_handle(handle)?;
    booster.format = Format::Pickle;
    if let Some(Py::Int(limit)) = field("best_ntree_limit") {
        // The 0.90 container predicts with it (later ones use every tree).
        if booster.version.is_none() && *limit > 0 {
            booster.tree_limit = usize::try_from(*limit).ok();
        }
    }
    Ok(booster)
}

/// The model inside the Booster's `handle`, in whichever of the three forms.
fn from_handle(handle: &[u8]) -> Result<Booster, LoadError> {
    const CONFIG: &[u8] = b"CONFIG-offset:";
    if let Some(rest) = handle.strip_prefix(CONFIG) {
        let (len, rest) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| LoadError::malformed("CONFIG-offset: without its length"))?;
        let len = usize::try_from(i64::from_le_bytes(*len))
            .ok()
            .filter(|&n| n <= rest.len())
            .ok_or_else(|| LoadError::malformed("CONFIG-offset: a length past the data"))?;
        return binary::load(&rest[..len]);
    }
    if handle.first() == Some(&b'{') {
        let snapshot = match crate::detect(handle) {
            Format::Ubjson => ubjson::parse(handle)?,
            _ => serde_json::from_slice(handle)
                .map_err(|e| LoadError::malformed(format!("the snapshot: {e}")))?,
        };
        let model = snapshot.get("Model").cloned().unwrap_or(snapshot);
        return json::load_value(model, Format::Pickle);
    }
    binary::load(handle)
}

fn describe(v: &Py) -> String {
    match v {
        Py::Global(m, n) => format!("{m}.{n}"),
        Py::Bytes(b) => format!("{} bytes", b.len()),
        Py::Dict(_) => "a dict".into(),
        Py::List(_) => "a list".into(),
        Py::Tuple(_) => "a tuple".into(),
        Py::Str(_) => "a string".into(),
        other => format!("{other:?}"),
    }
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Py>,
    memo: BTreeMap<u32, Py>,
}

impl<'a> Machine<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            stack: Vec::new(),
            memo: BTreeMap::new(),
        }
    }

    fn fail<T>(&self, what: impl std::fmt::Display) -> Result<T, LoadError> {
        Err(LoadError::malformed(format!(
            "pickle at byte {}: {what}",
            self.pos
        )))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], LoadError> {
        match self.pos.checked_add(n).filter(|&end| end <= self.bytes.len()) {
            Some(end) => {
                let out = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => self.fail(format!(
                "{n} more bytes needed, {} left",
                self.bytes.len() - self.pos
            )),
        }
    }

    fn uint(&mut self, width: usize) -> Result<u64, LoadError> {
        let raw = self.take(width)?;
        let mut b = [0u8; 8];
        b[..width].copy_from_slice(raw);
        Ok(u64::from_le_bytes(b))
    }

    fn sized(&mut self, width: usize) -> Result<&'a [u8], LoadError> {
        let n = self.uint(width)?;
        match usize::try_from(n) {
            Ok(n) => self.take(n),
            Err(_) => self.fail(format!("a length of {n}")),
        }
    }

    fn text(&mut self, width: usize) -> Result<String, LoadError> {
        let raw = self.sized(width)?;
        String::from_utf8(raw.to_vec()).or_else(|_| self.fail("a string that is not UTF-8"))
    }

    fn line(&mut self) -> Result<String, LoadError> {
        let rest = &self.bytes[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return self.fail("a GLOBAL without its newline");
        };
        let raw = self.take(end + 1)?;
        String::from_utf8(raw[..end].to_vec()).or_else(|_| self.fail("a GLOBAL name that is not UTF-8"))
    }

    fn push(&mut self, v: Py) -> Result<(), LoadError> {
        if self.stack.len() >= MAX_ITEMS {
            return self.fail("too many stack items");
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Result<Py, LoadError> {
        match self.stack.pop() {
            Some(Py::Mark) | None => self.fail("the stack is empty"),
            Some(v) => Ok(v),
        }
    }

    /// Everything above the topmost MARK, which is removed.
    fn since_mark(&mut self) -> Result<Vec<Py>, LoadError> {
        match self.stack.iter().rposition(|v| *v == Py::Mark) {
            Some(at) => {
                let items = self.stack.split_off(at + 1);
                self.stack.pop();
                Ok(items)
            }
            None => self.fail("no MARK on the stack"),
        }
    }

    fn memoize(&mut self, key: u32) -> Result<(), LoadError> {
        if self.memo.len() >= MAX_ITEMS {
            return self.fail("too many memo entries");
        }
        let top = match self.stack.last() {
            Some(v) if *v != Py::Mark => v.clone(),
            _ => return self.fail("nothing to memoize"),
        };
        self.memo.insert(key, top);
        Ok(())
    }

    fn recall(&mut self, key: u32) -> Result<(), LoadError> {
        match self.memo.get(&key).cloned() {
            Some(v) => self.push(v),
            None => self.fail(format!("memo {key} was never stored")),
        }
    }

    fn run(mut self) -> Result<Py, LoadError> {
        loop {
            let op = self.take(1)?[0];
            if op == b'.' {
                return self.pop();
            }
            if let Some(value) = self.scalar(op)? {
                self.push(value)?;
            } else if !self.structure(op)? {
                return self.fail(format!(
                    "opcode 0x{op:02x}, which a Booster's pickle does not use"
                ));
            }
        }
    }

    /// The opcodes that push one new value (strings, bytes, numbers, constants, empty
    /// containers, MARK, globals); `None` for any other opcode.
    fn scalar(&mut self, op: u8) -> Result<Option<Py>, LoadError> {
        Ok(Some(match op {
            b'c' => Py::Global(self.line()?, self.line()?),
            0x8c => Py::Str(self.text(1)?),
            b'X' => Py::Str(self.text(4)?),
            0x8d => Py::Str(self.text(8)?),
            // Python 2 str: bytes read as latin-1 text.
            b'U' | b'T' => Py::Str(
                self.sized(if op == b'U' { 1 } else { 4 })?
                    .iter()
                    .map(|&b| char::from(b))
                    .collect(),
            ),
            b'C' => Py::Bytes(self.sized(1)?.to_vec()),
            b'B' => Py::Bytes(self.sized(4)?.to_vec()),
            0x8e | 0x96 => Py::Bytes(self.sized(8)?.to_vec()),
            b'}' => Py::Dict(Vec::new()),
            b']' => Py::List(Vec::new()),
            b')' => Py::Tuple(Vec::new()),
            b'(' => Py::Mark,
            b'N' => Py::None,
            0x88 => Py::Bool(true),
            0x89 => Py::Bool(false),
            b'J' => Py::Int(i64::from(self.uint(4)? as u32 as i32)),
            b'K' => Py::Int(self.uint(1)? as i64),
            b'M' => Py::Int(self.uint(2)? as i64),
            0x8a => self.long1()?,
            b'G' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(self.take(8)?);
                Py::Float(f64::from_be_bytes(b))
            }
            _ => return Ok(None),
        }))
    }

    /// LONG1: a little-endian two's-complement integer of up to 8 bytes.
    fn long1(&mut self) -> Result<Py, LoadError> {
        let n = self.take(1)?[0] as usize;
        let raw = self.take(n)?;
        if n > 8 {
            return self.fail("an integer wider than 64 bits");
        }
        let mut b = if raw.last().is_some_and(|&x| x & 0x80 != 0) {
            [0xff; 8]
        } else {
            [0; 8]
        };
        b[..n].copy_from_slice(raw);
        Ok(Py::Int(i64::from_le_bytes(b)))
    }

    /// The opcodes that work on what is there: protocol and frames, the memo, tuples,
    /// dict and list filling, calls and BUILD. False for an opcode it does not know.
    fn structure(&mut self, op: u8) -> Result<bool, LoadError> {
        match op {
            0x80 => {
                let proto = self.take(1)?[0];
                if !(2..=5).contains(&proto) {
                    return self.fail(format!("pickle protocol {proto}"));
                }
            }
            0x95 => {
                self.uint(8)?;
            }
            0x93 => {
                let (name, module) = (self.pop()?, self.pop()?);
                match (module, name) {
                    (Py::Str(m), Py::Str(n)) => self.push(Py::Global(m, n))?,
                    _ => return self.fail("STACK_GLOBAL needs two strings"),
                }
            }
            0x94 => {
                let key = u32::try_from(self.memo.len()).unwrap_or(u32::MAX);
                self.memoize(key)?
            }
            b'q' | b'r' => {
                let key = self.uint(if op == b'q' { 1 } else { 4 })? as u32;
                self.memoize(key)?
            }
            b'h' | b'j' => {
                let key = self.uint(if op == b'h' { 1 } else { 4 })? as u32;
                self.recall(key)?
            }
            0x85..=0x87 => self.tuple_of(usize::from(op - 0x84))?,
            b't' => {
                let items = self.since_mark()?;
                self.push(Py::Tuple(items))?
            }
            b's' | b'u' => self.set_items(op == b's')?,
            b'a' | b'e' => {
                let items = if op == b'a' {
                    vec![self.pop()?]
                } else {
                    self.since_mark()?
                };
                let Some(Py::List(l)) = self.stack.last_mut() else {
                    return self.fail("APPEND(S) without a list");
                };
                l.extend(items);
            }
            0x81 | b'R' => {
                let (args, callable) = (self.pop()?, self.pop()?);
                let made = call(&callable, args, op == 0x81)?;
                self.push(made)?
            }
            b'b' => {
                let state = self.pop()?;
                match self.stack.last_mut() {
                    Some(Py::Booster(s)) => *s = Some(Box::new(state)),
                    _ => return self.fail("BUILD on something that is not a Booster"),
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// TUPLE1–3: the top `n` items.
    fn tuple_of(&mut self, n: usize) -> Result<(), LoadError> {
        if self.stack.len() < n {
            return self.fail("TUPLE with too few items");
        }
        let items = self.stack.split_off(self.stack.len() - n);
        if items.contains(&Py::Mark) {
            return self.fail("TUPLE over a MARK");
        }
        self.push(Py::Tuple(items))
    }

    /// SETITEM (one pair) or SETITEMS (pairs above the MARK) into the dict below.
    fn set_items(&mut self, one: bool) -> Result<(), LoadError> {
        let items = if one {
            let (v, k) = (self.pop()?, self.pop()?);
            vec![k, v]
        } else {
            self.since_mark()?
        };
        if items.len() % 2 != 0 {
            return self.fail("SETITEMS with an odd number of items");
        }
        let Some(Py::Dict(d)) = self.stack.last_mut() else {
            return self.fail("SETITEM(S) without a dict");
        };
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        Ok(())
    }
}

fn is_global(v: &Py, module: &[&str], name: &str) -> bool {
    matches!(v, Py::Global(m, n) if module.contains(&m.as_str()) && n == name)
}

/// The only calls allowed: make a Booster, make bytes.
fn call(callable: &Py, args: Py, newobj: bool) -> Result<Py, LoadError> {
    let Py::Tuple(args) = args else {
        return Err(LoadError::malformed("call arguments that are not a tuple"));
    };
    let booster = |v: &Py| is_global(v, &["xgboost.core"], "Booster");
    if newobj && booster(callable) {
        return Ok(Py::Booster(None));
    }
    if !newobj && is_global(callable, &["copyreg", "copy_reg"], "_reconstructor") {
        if args.first().is_some_and(booster) {
            return Ok(Py::Booster(None));
        }
    } else if !newobj && is_global(callable, &["builtins", "__builtin__"], "bytearray") {
        return match args.as_slice() {
            [] => Ok(Py::Bytes(Vec::new())),
            [Py::Bytes(b)] => Ok(Py::Bytes(b.clone())),
            [Py::Str(s), Py::Str(_)] => latin1(s),
            _ => Err(LoadError::malformed(
                "bytearray() with arguments it does not take",
            )),
        };
    } else if !newobj && is_global(callable, &["_codecs"], "encode") {
        return match args.as_slice() {
            [Py::Str(s), Py::Str(encoding)] if encoding.replace('-', "") == "latin1" => latin1(s),
            _ => Err(LoadError::malformed(
                "_codecs.encode with arguments it does not take",
            )),
        };
    }
    Err(LoadError::Unsupported(format!(
        "the pickle calls {}, which is not part of an xgboost Booster's state; it is not loaded (a pickle can run code)",
        describe(callable)
    )))
}

fn latin1(s: &str) -> Result<Py, LoadError> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| LoadError::malformed("latin-1 bytes above 0xff")))
        .collect::<Result<Vec<u8>, _>>()
        .map(Py::Bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_but_a_boosters_state_is_refused_by_name() {
        // pickle.dumps(os.system) at protocol 2: a global that is not allowed, REDUCEd.
        let evil = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.";
        let err = load(evil).unwrap_err().to_string();
        assert!(
            err.contains("calls posix.system") && err.contains("not loaded"),
            "{err}"
        );
        // A dict alone.
        let err = load(b"\x80\x04}\x94.").unwrap_err().to_string();
        assert!(err.contains("holds a dict, not an xgboost Booster"), "{err}");
        assert!(load(b"\x80\x04").unwrap_err().to_string().contains("more bytes"));
        assert!(load(b"\x80\x01.").unwrap_err().to_string().contains("protocol 1"));
        assert!(load(b"\x80\x04h\x07.")
            .unwrap_err()
            .to_string()
            .contains("never stored"));
    }
}
