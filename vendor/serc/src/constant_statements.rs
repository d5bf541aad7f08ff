//! PATCH(constant-statement-as-pass): CPython compiles an expression statement whose value
//! is a constant exactly like `pass`: `codegen_stmt_expr` (codegen.c; `compiler_visit_stmt_expr`
//! in 3.12's compile.c) emits one NOP at the statement's location and nothing else. serc
//! 0.1.10 modelled many rules of CPython's flow graph (redundant-NOP removal, jump threading,
//! small-exit copying) for a trailing `pass` only, so `while a < b < c:` / `0`, or
//! `x if y else z` / `b''` / `raise`, compiled differently from the same code with `pass`.
//! Rewriting those statements to `pass` before code generation lets every such rule see them.
//! A docstring (a string literal first in a module, class or function) is not a statement
//! CPython discards and is left alone.

use std::cell::Cell;

use ruff_python_ast::visitor::transformer::{self, Transformer};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{AtomicNodeIndex, Expr, Stmt, StmtPass, Suite};
use ruff_text_size::Ranged;

/// Whether `suite` holds a constant expression statement other than a docstring.
pub(crate) fn any(suite: &Suite) -> bool {
    struct Scan {
        scope_body: bool,
        found: bool,
    }

    impl<'a> Visitor<'a> for Scan {
        fn visit_body(&mut self, body: &'a [Stmt]) {
            let scope_body = std::mem::take(&mut self.scope_body);
            self.found |= discarded_constants(body, scope_body).next().is_some();
            if !self.found {
                visitor::walk_body(self, body);
            }
        }

        fn visit_stmt(&mut self, statement: &'a Stmt) {
            self.scope_body = is_scope(statement);
            visitor::walk_stmt(self, statement);
        }

        // Statements never nest inside expressions.
        fn visit_expr(&mut self, _expression: &'a Expr) {}
    }

    let mut scan = Scan {
        scope_body: true,
        found: false,
    };
    scan.visit_body(suite);
    scan.found
}

/// Replaces each such statement by a `pass` with the statement's range.
pub(crate) fn rewrite(suite: &mut Suite) {
    struct Rewrite {
        scope_body: Cell<bool>,
    }

    impl Transformer for Rewrite {
        fn visit_body(&self, body: &mut [Stmt]) {
            let scope_body = self.scope_body.replace(false);
            let constants = discarded_constants(body, scope_body).collect::<Vec<_>>();
            for index in constants {
                let range = body[index].range();
                body[index] = Stmt::Pass(StmtPass {
                    node_index: AtomicNodeIndex::default(),
                    range,
                });
            }
            transformer::walk_body(self, body);
        }

        fn visit_stmt(&self, statement: &mut Stmt) {
            self.scope_body.set(is_scope(statement));
            transformer::walk_stmt(self, statement);
        }

        fn visit_expr(&self, _expression: &mut Expr) {}
    }

    Rewrite {
        scope_body: Cell::new(true),
    }
    .visit_body(suite);
}

fn is_scope(statement: &Stmt) -> bool {
    matches!(statement, Stmt::FunctionDef(_) | Stmt::ClassDef(_))
}

/// Indices of the constant statements of one suite; a scope body's first string is its
/// docstring.
fn discarded_constants(body: &[Stmt], scope_body: bool) -> impl Iterator<Item = usize> + '_ {
    body.iter()
        .enumerate()
        .filter_map(move |(index, statement)| {
            let Stmt::Expr(expression) = statement else {
                return None;
            };
            let constant = matches!(
                expression.value.as_ref(),
                Expr::NoneLiteral(_)
                    | Expr::BooleanLiteral(_)
                    | Expr::EllipsisLiteral(_)
                    | Expr::NumberLiteral(_)
                    | Expr::StringLiteral(_)
                    | Expr::BytesLiteral(_)
            );
            let docstring = scope_body && index == 0 && expression.value.is_string_literal_expr();
            (constant && !docstring).then_some(index)
        })
}
