//! PATCH(constant-statement-as-pass): CPython compiles an expression statement whose value
//! is a constant exactly like `pass`: `codegen_stmt_expr` (codegen.c; `compiler_visit_stmt_expr`
//! in 3.12's compile.c) emits one NOP at the statement's location and nothing else. serc
//! 0.1.10 modelled many rules of CPython's flow graph (redundant-NOP removal, jump threading,
//! small-exit copying) for a trailing `pass` only, so `while a < b < c:` / `0`, or
//! `x if y else z` / `b''` / `raise`, compiled differently from the same code with `pass`.
//! Rewriting those statements to `pass` before code generation lets every such rule see them.
//! A docstring (a string literal first in a module, class or function) is not a statement
//! CPython discards and is left alone.

use ruff_python_ast::{AtomicNodeIndex, ExceptHandler, Expr, Stmt, StmtPass, Suite};

/// Whether `suite` holds a constant expression statement other than a docstring.
pub(crate) fn any(suite: &Suite) -> bool {
    fn walk(body: &[Stmt], scope: bool) -> bool {
        body.iter().enumerate().any(|(index, statement)| {
            discarded_constant(statement, scope && index == 0)
                || owned_suites(statement).any(|(suite, scope)| walk(suite, scope))
        })
    }
    walk(suite, true)
}

/// Replaces each such statement by a `pass` with the statement's range.
pub(crate) fn rewrite(suite: &mut Suite) {
    fn walk(body: &mut [Stmt], scope: bool) {
        for (index, statement) in body.iter_mut().enumerate() {
            if discarded_constant(statement, scope && index == 0) {
                *statement = Stmt::Pass(StmtPass {
                    node_index: AtomicNodeIndex::default(),
                    range: ruff_text_size::Ranged::range(statement),
                });
            } else {
                for_owned_suites_mut(statement, &mut |suite, scope| walk(suite, scope));
            }
        }
    }
    walk(suite, true);
}

fn discarded_constant(statement: &Stmt, first_in_scope: bool) -> bool {
    let Stmt::Expr(expression) = statement else {
        return false;
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
    constant && !(first_in_scope && expression.value.is_string_literal_expr())
}

/// The statement suites directly inside `statement`, each with whether it is a scope body.
fn owned_suites(statement: &Stmt) -> Box<dyn Iterator<Item = (&[Stmt], bool)> + '_> {
    match statement {
        Stmt::FunctionDef(function) => Box::new(std::iter::once((&function.body[..], true))),
        Stmt::ClassDef(class) => Box::new(std::iter::once((&class.body[..], true))),
        Stmt::If(branch) => Box::new(
            std::iter::once(&branch.body[..])
                .chain(
                    branch
                        .elif_else_clauses
                        .iter()
                        .map(|clause| &clause.body[..]),
                )
                .map(|suite| (suite, false)),
        ),
        Stmt::For(loop_) => Box::new(
            [&loop_.body[..], &loop_.orelse[..]]
                .into_iter()
                .map(|suite| (suite, false)),
        ),
        Stmt::While(loop_) => Box::new(
            [&loop_.body[..], &loop_.orelse[..]]
                .into_iter()
                .map(|suite| (suite, false)),
        ),
        Stmt::With(with) => Box::new(std::iter::once((&with.body[..], false))),
        Stmt::Match(matched) => Box::new(matched.cases.iter().map(|case| (&case.body[..], false))),
        Stmt::Try(try_) => Box::new(
            std::iter::once(&try_.body[..])
                .chain(try_.handlers.iter().map(|handler| {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    &handler.body[..]
                }))
                .chain([&try_.orelse[..], &try_.finalbody[..]])
                .map(|suite| (suite, false)),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

fn for_owned_suites_mut(statement: &mut Stmt, visit: &mut dyn FnMut(&mut [Stmt], bool)) {
    match statement {
        Stmt::FunctionDef(function) => visit(&mut function.body, true),
        Stmt::ClassDef(class) => visit(&mut class.body, true),
        Stmt::If(branch) => {
            visit(&mut branch.body, false);
            for clause in &mut branch.elif_else_clauses {
                visit(&mut clause.body, false);
            }
        }
        Stmt::For(loop_) => {
            visit(&mut loop_.body, false);
            visit(&mut loop_.orelse, false);
        }
        Stmt::While(loop_) => {
            visit(&mut loop_.body, false);
            visit(&mut loop_.orelse, false);
        }
        Stmt::With(with) => visit(&mut with.body, false),
        Stmt::Match(matched) => {
            for case in &mut matched.cases {
                visit(&mut case.body, false);
            }
        }
        Stmt::Try(try_) => {
            visit(&mut try_.body, false);
            for handler in &mut try_.handlers {
                let ExceptHandler::ExceptHandler(handler) = handler;
                visit(&mut handler.body, false);
            }
            visit(&mut try_.orelse, false);
            visit(&mut try_.finalbody, false);
        }
        _ => {}
    }
}
