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
        chars: source.chars().peekable(),
        column: 0,
    };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let end = token.kind == TokenKind::End;
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    chars: core::iter::Peekable<core::str::Chars<'a>>,
    /// Column of the last character taken (0 before the first).
    column: usize,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        self.column += 1;
        Some(c)
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.chars.peek() == Some(&expected) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn next_token(&mut self) -> Result<Token, Error> {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.bump();
        }
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
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::from(c);
                while let Some(&c) = self.chars.peek() {
                    if !(c.is_alphanumeric() || c == '_') {
                        break;
                    }
                    name.push(c);
                    self.bump();
                }
                TokenKind::Ident(name)
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

    /// A double-quoted string; the opening quote is at `start`.
    fn quoted(&mut self, start: usize) -> Result<String, Error> {
        let mut text = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(Error::new(ErrorKind::Syntax, "unterminated string", start));
            };
            match c {
                '"' => return Ok(text),
                '\\' => {
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
                }
                c => text.push(c),
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
        let mut text = String::new();
        loop {
            match self.bump() {
                Some('`') => return Ok(text),
                Some(c) => text.push(c),
                None => return Err(Error::new(ErrorKind::Syntax, "unterminated string", start)),
            }
        }
    }
}
