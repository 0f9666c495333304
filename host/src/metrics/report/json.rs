//! A JSON reader for the files DLIO (Python) and dl-driver write.
//!
//! Two things serde_json's defaults do not give: numbers rounded correctly (its default
//! float parser may be an ulp off for 17-digit values, and an ulp decides whether a figure
//! lands on a 2-decimal boundary like Python's does), and Python's `NaN`, `Infinity` and
//! `-Infinity`, which DLIO's summary.json holds after a read-only checkpoint run (they read
//! as `null`). Objects keep their key order.

use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused rather than overflowing the stack.
const MAX_DEPTH: usize = 256;

/// Parses `text`; the error names the line and column.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut parser = Parser { text, pos: 0 };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.pos < text.len() {
        return Err(parser.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
        format!("line {line} column {column}: {what}")
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self.text[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_space();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", byte as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.skip_space();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                for (literal, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                    // Python's non-finite floats: no JSON number can hold them.
                    ("NaN", Value::Null),
                    ("Infinity", Value::Null),
                ] {
                    if self.eat(literal) {
                        return Ok(value);
                    }
                }
                Err(self.error("expected a JSON value"))
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.pos += 1;
        let mut map = Map::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            map.insert(key, value);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy everything up to the next quote or escape as is (the text is UTF-8).
            let rest = &self.text[self.pos..];
            let Some(stop) = rest.find(['"', '\\']) else {
                return Err(self.error("unterminated string"));
            };
            out.push_str(&rest[..stop]);
            self.pos += stop;
            if self.eat("\"") {
                return Ok(out);
            }
            self.pos += 1;
            let escaped = self
                .peek()
                .ok_or_else(|| self.error("unterminated string"))?;
            self.pos += 1;
            match escaped {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let first = self.hex4()?;
                    let code = if (0xD800..0xDC00).contains(&first) && self.eat("\\u") {
                        let second = self.hex4()?;
                        if (0xDC00..0xE000).contains(&second) {
                            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                        } else {
                            0xFFFD
                        }
                    } else {
                        first
                    };
                    out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                }
                _ => return Err(self.error("unknown escape in string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(code)
    }

    fn number(&mut self) -> Result<Value, String> {
        if self.eat("-Infinity") {
            return Ok(Value::Null);
        }
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.pos += 1;
        }
        let literal = &self.text[start..self.pos];
        let integer = !literal.contains(['.', 'e', 'E']);
        if integer {
            if let Ok(i) = literal.parse::<i64>() {
                return Ok(Value::Number(i.into()));
            }
            if let Ok(u) = literal.parse::<u64>() {
                return Ok(Value::Number(u.into()));
            }
        }
        // Rust's float parser rounds correctly, as Python's does.
        let float: f64 = literal
            .parse()
            .map_err(|_| self.error(&format!("bad number '{literal}'")))?;
        Ok(Number::from_f64(float).map_or(Value::Null, Value::Number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_python_json_with_non_finite_numbers() {
        let text = r#" {"a": NaN, "b": [Infinity, -Infinity, 1.5, -2, 18446744073709551615],
            "c": "NaN \"Infinity\" \\ \u00e9 \ud83d\ude00", "d": "é", "e": {}, "f": [], "g": true} "#;
        let value = parse(text).expect("valid");
        assert_eq!(value["a"], Value::Null);
        assert_eq!(
            value["b"],
            serde_json::json!([null, null, 1.5, -2, 18446744073709551615u64])
        );
        assert_eq!(value["c"], "NaN \"Infinity\" \\ é 😀");
        assert_eq!(value["d"], "é");
        let keys: Vec<_> = value.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f", "g"]);
    }

    #[test]
    fn numbers_round_correctly() {
        // Each is the shortest repr of an f64 whose value Python reads back exactly.
        for text in [
            "0.0015902519226074219",
            "4.934285231225383",
            "0.1",
            "1e-7",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "74.25926587825481",
        ] {
            let expected: f64 = text.parse().expect("float");
            assert_eq!(parse(text).expect("number").as_f64(), Some(expected));
        }
    }

    #[test]
    fn errors_name_the_place() {
        let err = parse("{\n  \"a\": [1, 2,,]\n}").expect_err("invalid");
        assert!(err.starts_with("line 2 column 14:"), "{err}");
        assert!(parse("[1] 2").is_err());
        assert!(parse("\"open").is_err());
        assert!(parse(&"[".repeat(1000)).is_err());
    }
}
