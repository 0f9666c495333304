//! A parser for the Python literal numpy stores as an NPY header: a dict whose values are
//! strings, booleans and tuples of integers.

/// A value in the header dict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A quoted string (`'<f4'`).
    Str(String),
    /// `True` or `False`.
    Bool(bool),
    /// A tuple of non-negative integers (`(64, 64, 1)`).
    Tuple(Vec<u64>),
}

/// Parses `{'key': value, ...}` (trailing comma and whitespace allowed).
pub fn parse_dict(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.expect(b'{')?;
    let mut entries = Vec::new();
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        let value = p.value()?;
        entries.push((key, value));
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(format!(
            "unexpected text after the header dict at byte {}",
            p.pos
        ));
    }
    Ok(entries)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.eat(byte) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(found) => {
                format!(
                    "expected '{}' at byte {}, found '{}'",
                    byte as char, self.pos, found as char
                )
            }
            None => format!(
                "expected '{}' at byte {}, found the end",
                byte as char, self.pos
            ),
        })
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.pos)),
        };
        self.pos += 1;
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b'\\' {
                return Err(format!(
                    "escape sequences are not supported (byte {})",
                    self.pos
                ));
            }
            if b == quote {
                let text = String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned();
                self.pos += 1;
                return Ok(text);
            }
            self.pos += 1;
        }
        Err("unterminated string".into())
    }

    fn word(&mut self, word: &str) -> bool {
        let hit = self.bytes[self.pos..].starts_with(word.as_bytes());
        if hit {
            self.pos += word.len();
        }
        hit
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => self.tuple(),
            _ if self.word("True") => Ok(Value::Bool(true)),
            _ if self.word("False") => Ok(Value::Bool(false)),
            Some(b'[') => Err("structured dtypes (a list descr) are not supported".into()),
            _ => Err(format!("unsupported value at byte {}", self.pos)),
        }
    }

    fn tuple(&mut self) -> Result<Value, String> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                break;
            }
            items.push(self.integer()?);
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(b')')?;
                break;
            }
        }
        Ok(Value::Tuple(items))
    }

    fn integer(&mut self) -> Result<u64, String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default();
        let value = digits
            .parse::<u64>()
            .map_err(|_| format!("expected a non-negative integer at byte {start}"))?;
        // Python 2 numpy wrote long integers with an `L` suffix.
        self.eat(b'L');
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_header_dicts() {
        let text = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 224, 224, 16), }    \n";
        let dict = parse_dict(text).unwrap();
        assert_eq!(
            dict,
            vec![
                ("descr".into(), Value::Str("<f4".into())),
                ("fortran_order".into(), Value::Bool(false)),
                ("shape".into(), Value::Tuple(vec![3, 224, 224, 16])),
            ]
        );
        let dict = parse_dict("{\"shape\": (8,), 'fortran_order': True, 'descr': '|u1'}").unwrap();
        assert_eq!(dict[0].1, Value::Tuple(vec![8]));
        assert_eq!(dict[1].1, Value::Bool(true));
        assert_eq!(
            parse_dict("{'shape': ()}").unwrap()[0].1,
            Value::Tuple(vec![])
        );
        assert_eq!(
            parse_dict("{'shape': (5L, 2L)}").unwrap()[0].1,
            Value::Tuple(vec![5, 2])
        );
    }

    #[test]
    fn rejects_malformed_text_without_panicking() {
        for text in [
            "",
            "{",
            "{'descr'",
            "{'descr': }",
            "{'shape': (1, -2)}",
            "{'shape': (99999999999999999999999,)}",
            "{'descr': [('a', '<f4')]}",
            "{'a': 'b'} x",
            "{'a': 'b\\'c'}",
            "{'a' 'b'}",
            "{'shape': (1 2)}",
        ] {
            assert!(parse_dict(text).is_err(), "{text:?} parsed");
        }
    }
}
