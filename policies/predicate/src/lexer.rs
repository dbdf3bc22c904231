//! Tokens of the predicate language.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, ErrorKind};

/// One token and the 1-based column (in characters) where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// 1-based column of its first character.
    pub column: usize,
}

/// The kinds of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// `name` (letters, digits, `_`; not starting with a digit).
    Ident(String),
    /// `"text"` with escapes, or `` `text` `` (raw).
    Str(String),
    /// A JSON number (`5`, `-2.5`, `1e3`), as written.
    Num(String),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Not,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// End of input.
    End,
}

impl TokenKind {
    /// How the token reads in error messages.
    pub fn describe(&self) -> String {
        let text = match self {
            TokenKind::Ident(name) => return alloc::format!("`{name}`"),
            TokenKind::Str(_) => "a string",
            TokenKind::Num(_) => "a number",
            TokenKind::LParen => "`(`",
            TokenKind::RParen => "`)`",
            TokenKind::LBracket => "`[`",
            TokenKind::RBracket => "`]`",
            TokenKind::Comma => "`,`",
            TokenKind::Dot => "`.`",
            TokenKind::And => "`&&`",
            TokenKind::Or => "`||`",
            TokenKind::Not => "`!`",
            TokenKind::Eq => "`==`",
            TokenKind::Ne => "`!=`",
            TokenKind::End => "the end of the expression",
        };
        String::from(text)
    }
}

/// Splits `source` into tokens, ending with [`TokenKind::End`].
pub fn tokenize(source: &str) -> Result<Vec<Token>, Error> {
    let mut lexer = Lexer {
        source,
        position: 0,
        column: 0,
    };
    let mut tokens = Vec::with_capacity(16);
    loop {
        let token = lexer.next_token()?;
        let end = token.kind == TokenKind::End;
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

/// Reads `source` character by character; names and strings are copied out of it in one
/// piece (one allocation each), not pushed character by character.
struct Lexer<'a> {
    source: &'a str,
    /// Byte offset of the next character.
    position: usize,
    /// Column of the last character taken (0 before the first).
    column: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        match *self.source.as_bytes().get(self.position)? {
            // The language is ASCII but for names and strings: decode only when needed.
            byte if byte.is_ascii() => Some(char::from(byte)),
            _ => self.source.get(self.position..)?.chars().next(),
        }
    }

    /// Moves past `c`, the character [`peek`](Self::peek) returned.
    fn advance(&mut self, c: char) {
        self.position += c.len_utf8();
        self.column += 1;
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.advance(c);
        Some(c)
    }

    /// Moves past the characters that satisfy `pred`.
    fn skip_while(&mut self, pred: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !pred(c) {
                break;
            }
            self.advance(c);
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.advance(expected);
            true
        } else {
            false
        }
    }

    /// The source from byte offset `start` to the current position.
    fn since(&self, start: usize) -> &str {
        self.source.get(start..self.position).unwrap_or_default()
    }

    fn next_token(&mut self) -> Result<Token, Error> {
        self.skip_while(char::is_whitespace);
        let start = self.position;
        let Some(c) = self.bump() else {
            return Ok(Token {
                kind: TokenKind::End,
                column: self.column + 1,
            });
        };
        let column = self.column;
        let syntax = |message: &str| Error::new(ErrorKind::Syntax, message, column);
        let kind = match c {
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            '[' => TokenKind::LBracket,
            ']' => TokenKind::RBracket,
            ',' => TokenKind::Comma,
            '.' => TokenKind::Dot,
            '&' if self.eat('&') => TokenKind::And,
            '&' => return Err(syntax("expected `&&`")),
            '|' if self.eat('|') => TokenKind::Or,
            '|' => return Err(syntax("expected `||`")),
            '=' if self.eat('=') => TokenKind::Eq,
            '=' => return Err(syntax("expected `==`")),
            '!' if self.eat('=') => TokenKind::Ne,
            '!' => TokenKind::Not,
            '"' => TokenKind::Str(self.quoted(column)?),
            '`' => TokenKind::Str(self.raw(column)?),
            c if c.is_ascii_digit()
                || (c == '-' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.number(start, column)?
            }
            c if c.is_alphabetic() || c == '_' => {
                self.skip_while(|c| c.is_alphanumeric() || c == '_');
                TokenKind::Ident(String::from(self.since(start)))
            }
            c => {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    alloc::format!("unexpected character `{c}`"),
                    column,
                ))
            }
        };
        Ok(Token { kind, column })
    }

    /// A number in JSON's grammar (RFC 8259 §6), whose first character is at byte `start`.
    fn number(&mut self, start: usize, column: usize) -> Result<TokenKind, Error> {
        let digits = |lexer: &mut Self| lexer.skip_while(|c| c.is_ascii_digit());
        digits(self);
        if self.eat('.') {
            digits(self);
        }
        if self.eat('e') || self.eat('E') {
            if !self.eat('+') {
                self.eat('-');
            }
            digits(self);
        }
        // A name running on (`1st`) is not a number followed by a name.
        self.skip_while(|c| c.is_alphanumeric() || c == '_' || c == '.');
        let text = self.since(start);
        if serde_json::from_str::<serde_json::Number>(text).is_err() {
            return Err(Error::new(
                ErrorKind::Syntax,
                alloc::format!("`{text}` is not a number (JSON numbers: `5`, `-2.5`, `1e3`)"),
                column,
            ));
        }
        Ok(TokenKind::Num(String::from(text)))
    }

    /// A double-quoted string; the opening quote is at `start`.
    fn quoted(&mut self, start: usize) -> Result<String, Error> {
        let mut text = String::new();
        // Start of the run of plain characters not yet copied to `text`.
        let mut run = self.position;
        loop {
            let before = self.position;
            let Some(c) = self.bump() else {
                return Err(Error::new(ErrorKind::Syntax, "unterminated string", start));
            };
            match c {
                '"' => {
                    text.push_str(self.source.get(run..before).unwrap_or_default());
                    return Ok(text);
                }
                '\\' => {
                    text.push_str(self.source.get(run..before).unwrap_or_default());
                    let escape_column = self.column;
                    let escaped = match self.bump() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('/') => '/',
                        Some('\'') => '\'',
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('0') => '\0',
                        Some('u') => self.unicode_escape(escape_column)?,
                        Some(other) => {
                            return Err(Error::new(
                                ErrorKind::Syntax,
                                alloc::format!("unknown escape `\\{other}`"),
                                escape_column,
                            ))
                        }
                        None => {
                            return Err(Error::new(ErrorKind::Syntax, "unterminated string", start))
                        }
                    };
                    text.push(escaped);
                    run = self.position;
                }
                _ => {}
            }
        }
    }

    /// `\uXXXX` after the `u` (a Unicode scalar value, not a surrogate).
    fn unicode_escape(&mut self, escape_column: usize) -> Result<char, Error> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = self.bump().and_then(|c| c.to_digit(16));
            let Some(digit) = digit else {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    "`\\u` needs four hexadecimal digits",
                    escape_column,
                ));
            };
            code = code * 16 + digit;
        }
        char::from_u32(code).ok_or_else(|| {
            Error::new(
                ErrorKind::Syntax,
                alloc::format!("`\\u{code:04x}` is not a character"),
                escape_column,
            )
        })
    }

    /// A backquoted raw string (no escapes); the opening quote is at `start`.
    fn raw(&mut self, start: usize) -> Result<String, Error> {
        let run = self.position;
        loop {
            let before = self.position;
            match self.bump() {
                Some('`') => {
                    return Ok(String::from(
                        self.source.get(run..before).unwrap_or_default(),
                    ))
                }
                Some(_) => {}
                None => return Err(Error::new(ErrorKind::Syntax, "unterminated string", start)),
            }
        }
    }
}
