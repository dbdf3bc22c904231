//! Parser: tokens to an expression tree.
//!
//! Grammar (precedence from loosest to tightest, as in Go, which Teleport's parser uses):
//!
//! ```text
//! expr    = and { "||" and }
//! and     = compare { "&&" compare }
//! compare = unary { ("==" | "!=") unary }
//! unary   = "!" unary | primary
//! primary = "(" expr ")" | STRING | "true" | "false"
//!         | NAME "(" [ expr { "," expr } ] ")"
//!         | ROOT { "." NAME | "[" expr "]" }
//! ROOT    = "user" | "resource" | "verb" | "kind" | "session" | "ssh_session"
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, ErrorKind, Result};
use crate::lexer::{tokenize, Token, TokenKind};

/// Deepest nesting of parentheses, `!`, calls, `[...]` and `==` chains accepted: keeps the
/// recursion of parsing and evaluation within the module's 64 KiB stack (with room to
/// spare; a where clause rarely nests beyond a handful of levels).
pub const MAX_DEPTH: usize = 32;

/// An expression and the column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// 1-based column of its first character.
    pub column: usize,
}

/// The kinds of expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// A string literal.
    Str(String),
    /// A number literal, as written (valid JSON).
    Num(String),
    /// `true` or `false`.
    Bool(bool),
    /// `user.spec.traits["team"]`: a root object of the input and a path into it.
    Path {
        /// One of [`ROOTS`].
        root: String,
        /// Field names and index expressions.
        segments: Vec<Segment>,
    },
    /// `name(args...)`.
    Call {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `!expr`.
    Not(Box<Expr>),
    /// `a && b && ...` (two or more operands).
    And(Vec<Expr>),
    /// `a || b || ...` (two or more operands).
    Or(Vec<Expr>),
    /// `a == b` (or `a != b` when `negated`).
    Equals {
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// True for `!=`.
        negated: bool,
    },
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `.name`
    Field(String),
    /// `[expr]` (the expression must be a string).
    Index(Expr),
}

/// The identifiers a path may start with: fields of the hook input.
pub const ROOTS: [&str; 6] = ["user", "resource", "verb", "kind", "session", "ssh_session"];

/// Parses a whole expression.
pub fn parse(source: &str) -> Result<Expr> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        position: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    let token = parser.peek();
    if token.kind != TokenKind::End {
        return Err(Error::new(
            ErrorKind::Syntax,
            alloc::format!("unexpected {}", token.kind.describe()),
            token.column,
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
}

const END: Token = Token {
    kind: TokenKind::End,
    column: 0,
};

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and the parser never moves past it.
        self.tokens.get(self.position).unwrap_or(&END)
    }

    /// Takes the next token (moved out, never copied: the parser does not look back).
    fn next(&mut self) -> Token {
        match self.tokens.get_mut(self.position) {
            Some(token) if token.kind != TokenKind::End => {
                self.position += 1;
                core::mem::replace(token, END)
            }
            _ => self.peek().clone(),
        }
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Result<Token> {
        let token = self.next();
        if token.kind == kind {
            Ok(token)
        } else {
            Err(Error::new(
                ErrorKind::Syntax,
                alloc::format!("expected {what}, found {}", token.kind.describe()),
                token.column,
            ))
        }
    }

    fn enter(&mut self, column: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::Syntax,
                "expression nested too deeply",
                column,
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr> {
        let first = self.and()?;
        if self.peek().kind != TokenKind::Or {
            return Ok(first);
        }
        let column = first.column;
        let mut operands = alloc::vec![first];
        while self.peek().kind == TokenKind::Or {
            self.next();
            operands.push(self.and()?);
        }
        Ok(Expr {
            kind: ExprKind::Or(operands),
            column,
        })
    }

    fn and(&mut self) -> Result<Expr> {
        let first = self.compare()?;
        if self.peek().kind != TokenKind::And {
            return Ok(first);
        }
        let column = first.column;
        let mut operands = alloc::vec![first];
        while self.peek().kind == TokenKind::And {
            self.next();
            operands.push(self.compare()?);
        }
        Ok(Expr {
            kind: ExprKind::And(operands),
            column,
        })
    }

    fn compare(&mut self) -> Result<Expr> {
        let depth = self.depth;
        let mut left = self.unary()?;
        loop {
            let negated = match self.peek().kind {
                TokenKind::Eq => false,
                TokenKind::Ne => true,
                _ => {
                    self.depth = depth;
                    return Ok(left);
                }
            };
            let operator = self.next().column;
            // Chains nest to the left: bound them like parentheses.
            self.enter(operator)?;
            let right = self.unary()?;
            let column = left.column;
            left = Expr {
                kind: ExprKind::Equals {
                    left: Box::new(left),
                    right: Box::new(right),
                    negated,
                },
                column,
            };
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.peek().kind == TokenKind::Not {
            let column = self.next().column;
            self.enter(column)?;
            let operand = self.unary()?;
            self.depth -= 1;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(operand)),
                column,
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        let token = self.next();
        let column = token.column;
        let kind = match token.kind {
            TokenKind::LParen => {
                self.enter(column)?;
                let inner = self.or()?;
                self.expect(TokenKind::RParen, "`)`")?;
                self.depth -= 1;
                // Keep the column of the parenthesis: errors about the group point at it.
                return Ok(Expr {
                    kind: inner.kind,
                    column,
                });
            }
            TokenKind::Str(text) => ExprKind::Str(text),
            TokenKind::Num(text) => ExprKind::Num(text),
            TokenKind::Ident(name) if self.peek().kind == TokenKind::LParen => {
                self.next();
                self.enter(column)?;
                let args = self.arguments()?;
                self.depth -= 1;
                ExprKind::Call { name, args }
            }
            TokenKind::Ident(name) if name == "true" || name == "false" => {
                ExprKind::Bool(name == "true")
            }
            TokenKind::Ident(root) => {
                if !ROOTS.contains(&root.as_str()) {
                    return Err(Error::new(
                        ErrorKind::Syntax,
                        alloc::format!(
                            "unknown identifier `{root}` (expected one of {})",
                            ROOTS.join(", ")
                        ),
                        column,
                    ));
                }
                let segments = self.segments()?;
                ExprKind::Path { root, segments }
            }
            other => {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    alloc::format!("expected a value, found {}", other.describe()),
                    column,
                ))
            }
        };
        Ok(Expr { kind, column })
    }

    /// Call arguments after the `(`, up to and including the `)`.
    fn arguments(&mut self) -> Result<Vec<Expr>> {
        let mut args = Vec::new();
        if self.peek().kind == TokenKind::RParen {
            self.next();
            return Ok(args);
        }
        loop {
            args.push(self.or()?);
            let token = self.next();
            match token.kind {
                TokenKind::Comma => continue,
                TokenKind::RParen => return Ok(args),
                other => {
                    return Err(Error::new(
                        ErrorKind::Syntax,
                        alloc::format!("expected `,` or `)`, found {}", other.describe()),
                        token.column,
                    ))
                }
            }
        }
    }

    /// `.name` and `[expr]` steps after a root.
    fn segments(&mut self) -> Result<Vec<Segment>> {
        let mut segments = Vec::new();
        loop {
            match self.peek().kind {
                TokenKind::Dot => {
                    self.next();
                    let token = self.next();
                    let TokenKind::Ident(name) = token.kind else {
                        return Err(Error::new(
                            ErrorKind::Syntax,
                            alloc::format!(
                                "expected a field name after `.`, found {}",
                                token.kind.describe()
                            ),
                            token.column,
                        ));
                    };
                    segments.push(Segment::Field(name));
                }
                TokenKind::LBracket => {
                    let column = self.next().column;
                    self.enter(column)?;
                    let index = self.or()?;
                    self.expect(TokenKind::RBracket, "`]`")?;
                    self.depth -= 1;
                    segments.push(Segment::Index(index));
                }
                _ => return Ok(segments),
            }
        }
    }
}

/// The names of the extra functions `source` calls (every call that is not a built-in
/// function), in order of first appearance: what a server checks against the functions its
/// uploaded modules provide before it accepts a clause. With `action`, `source` is an
/// action: its outer `log(...)` or `annotate(...)` is the action, not a call. `Err` if
/// `source` does not parse.
pub fn extra_functions(source: &str, action: bool) -> Result<Vec<String>> {
    fn walk(expr: &Expr, found: &mut Vec<String>) {
        match &expr.kind {
            ExprKind::Call { name, args } => {
                if !crate::eval::BUILTINS.contains(&name.as_str()) && !found.contains(name) {
                    found.push(name.clone());
                }
                args.iter().for_each(|a| walk(a, found));
            }
            ExprKind::Not(inner) => walk(inner, found),
            ExprKind::And(items) | ExprKind::Or(items) => items.iter().for_each(|e| walk(e, found)),
            ExprKind::Equals { left, right, .. } => {
                walk(left, found);
                walk(right, found);
            }
            ExprKind::Path { segments, .. } => {
                for segment in segments {
                    if let Segment::Index(index) = segment {
                        walk(index, found);
                    }
                }
            }
            ExprKind::Str(_) | ExprKind::Num(_) | ExprKind::Bool(_) => {}
        }
    }
    let expr = parse(source)?;
    let mut found = Vec::new();
    match &expr.kind {
        ExprKind::Call { name, args } if action && (name == "log" || name == "annotate") => {
            args.iter().for_each(|a| walk(a, &mut found));
        }
        _ => walk(&expr, &mut found),
    }
    Ok(found)
}
