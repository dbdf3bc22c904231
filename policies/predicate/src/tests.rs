//! Tests of the language, natively.

use alloc::string::{String, ToString};

use portcullis_guest::{Effect, Level};
use serde_json::{json, Value};

use crate::parser::MAX_DEPTH;
use crate::{evaluate, evaluate_with, run_action, run_action_with, Error, ErrorKind, Functions};

fn input() -> Value {
    json!({
        "expression": "ignored",
        "user": {
            "kind": "user",
            "version": "v2",
            "metadata": {"name": "alice", "labels": {"env": "prod"}},
            "spec": {
                "roles": ["dev", "auditor"],
                "traits": {
                    "team": ["dba", "ops"],
                    "logins": ["alice", "root"],
                    "email": ["alice@example.com", "a@example.com"],
                    "quoted \"key\"": ["yes"],
                    "mixed": ["a", 1],
                },
                "active": true,
                "uid": 1001
            }
        },
        "resource": {
            "kind": "role",
            "metadata": {"name": "dba-readonly"},
            "spec": {"roles": ["dba", "ops"]}
        },
        "verb": "read",
        "kind": "role"
    })
}

fn eval(expression: &str) -> bool {
    match evaluate(expression, &input()) {
        Ok(result) => result,
        Err(e) => panic!("`{expression}`: {e}"),
    }
}

fn error(expression: &str) -> Error {
    match evaluate(expression, &input()) {
        Ok(result) => panic!("`{expression}` evaluated to {result}, expected an error"),
        Err(e) => e,
    }
}

fn check_error(expression: &str, kind: ErrorKind, column: usize, fragment: &str) {
    let e = error(expression);
    assert_eq!((e.kind, e.column), (kind, column), "`{expression}`: {e}");
    assert!(e.message.contains(fragment), "`{expression}`: {e}");
}

#[test]
fn equals_and_comparison_operators() {
    assert!(eval(r#"equals(user.metadata.name, "alice")"#));
    assert!(!eval(r#"equals(user.metadata.name, "bob")"#));
    assert!(eval(r#"user.metadata.name == "alice""#));
    assert!(eval(r#"user.metadata.name != "bob""#));
    assert!(eval(r#""alice" == user.metadata.name"#));
    assert!(eval(r#"verb == "read" && kind == "role""#));
    // Lists compare in order; different types are never equal.
    assert!(eval(r#"resource.spec.roles == set("dba", "ops")"#));
    assert!(!eval(r#"resource.spec.roles == set("ops", "dba")"#));
    assert!(!eval(r#"user.metadata.name == set("alice")"#));
    assert!(eval(
        r#"equals(user.spec.traits["team"], resource.spec.roles)"#
    ));
    assert!(eval("user.spec.active == true"));
    assert!(eval(r#"user.spec.uid == "1001""#));
    // Objects compare as JSON.
    assert!(eval("user.metadata == user.metadata"));
    assert!(!eval("user.metadata == resource.metadata"));
}

#[test]
fn contains_family() {
    assert!(eval(r#"contains(user.spec.traits["team"], "dba")"#));
    assert!(!eval(r#"contains(user.spec.traits["team"], "dev")"#));
    assert!(
        eval(r#"contains(user.metadata.name, "alice")"#),
        "a string is a one-element list"
    );
    assert!(
        !eval(r#"contains(user.metadata.name, "ali")"#),
        "not a substring test"
    );

    assert!(eval(
        r#"contains_any(user.spec.roles, set("x", "auditor"))"#
    ));
    assert!(!eval(r#"contains_any(user.spec.roles, set("x", "y"))"#));
    assert!(!eval(r#"contains_any(user.spec.roles, set())"#));

    assert!(eval(
        r#"contains_all(user.spec.traits["team"], set("ops", "dba"))"#
    ));
    assert!(!eval(
        r#"contains_all(user.spec.traits["team"], set("ops", "dev"))"#
    ));
    assert!(
        !eval("contains_all(user.spec.roles, set())"),
        "empty items: false"
    );
    assert!(!eval(r#"contains_all(set(), set())"#));
}

#[test]
fn set_builds_a_deduplicated_flat_list() {
    assert!(eval(r#"set("a", "b", "a") == set("a", "b")"#));
    assert!(eval(
        r#"set(user.spec.roles, "x") == set("dev", "auditor", "x")"#
    ));
    assert!(eval(r#"set(user.spec.traits["none"]) == set()"#));
    assert!(eval("set() == user.spec.traits[\"none\"]"));
}

#[test]
fn has_prefix_is_subset_all_end_with_all_equal() {
    assert!(eval(r#"has_prefix(resource.metadata.name, "dba-")"#));
    assert!(!eval(r#"has_prefix(resource.metadata.name, "ops-")"#));
    assert!(eval(r#"has_prefix(resource.metadata.name, "")"#));

    assert!(eval(
        r#"is_subset(resource.spec.roles, "dba", "ops", "dev")"#
    ));
    assert!(!eval(r#"is_subset(resource.spec.roles, "dba")"#));
    assert!(eval(r#"is_subset(resource.spec.roles, set("dba", "ops"))"#));
    assert!(eval(
        r#"is_subset(resource.metadata.name, "x", "dba-readonly")"#
    ));
    assert!(
        eval(r#"is_subset(user.spec.traits["none"], "dba")"#),
        "empty set is a subset"
    );
    assert!(!eval(r#"is_subset(resource.spec.roles)"#));

    assert!(eval(
        r#"all_end_with(user.spec.traits["email"], "example.com")"#
    ));
    assert!(!eval(
        r#"all_end_with(user.spec.traits["email"], "@example.com") && false"#
    ));
    assert!(!eval(r#"all_end_with(user.spec.traits["logins"], "e")"#));
    assert!(eval(r#"all_end_with(user.metadata.name, "ce")"#));
    assert!(
        eval(r#"all_end_with(user.spec.traits["none"], "x")"#),
        "vacuously true"
    );

    assert!(eval(r#"all_equal(set("a", "a"), "a")"#));
    assert!(!eval(r#"all_equal(user.spec.roles, "dev")"#));
    assert!(eval(r#"all_equal(user.metadata.name, "alice")"#));
}

#[test]
fn missing_keys_are_empty_values() {
    assert!(!eval(r#"contains(user.spec.traits["nope"], "x")"#));
    assert!(eval(r#"user.spec.traits["nope"] == """#));
    assert!(eval(r#"equals(resource.metadata.labels["env"], "")"#));
    assert!(eval(r#"resource.no.such.path == set()"#));
    assert!(
        eval(r#"user.metadata.name.deeper == """#),
        "fields of a string are missing"
    );
    assert!(eval(r#"has_prefix(user.spec.traits["nope"], "")"#));
    // `resource` is `{}` when the rule is not about one resource.
    let empty = json!({"user": {}, "resource": {}});
    assert_eq!(
        evaluate(r#"resource.metadata.name == """#, &empty),
        Ok(true)
    );
    assert_eq!(
        evaluate(r#"contains(user.spec.roles, "x")"#, &empty),
        Ok(false)
    );
}

#[test]
fn indexing() {
    assert!(eval(r#"user.metadata.labels["env"] == "prod""#));
    assert!(eval(r#"user.spec.traits["quoted \"key\""] == set("yes")"#));
    assert!(eval(
        r#"contains(user.spec.traits[user.metadata.name], "x") == false"#
    ));
    assert!(eval(r#"user["metadata"]["name"] == "alice""#));
    assert!(eval(r#"user.spec.traits[`team`] == set("dba", "ops")"#));
}

#[test]
fn precedence_and_short_circuit() {
    // && binds tighter than ||.
    assert!(eval("true || false && false"));
    assert!(!eval("(true || false) && false"));
    // ! binds tighter than == (as in Go): (!true) == false.
    assert!(eval("!true == false"));
    assert!(eval("!(true == false)"));
    assert!(eval("!!true"));
    // == binds tighter than &&.
    assert!(eval(r#"verb == "read" && kind == "role" || false"#));
    // Short circuit: the right side is not evaluated, so its type error does not show.
    assert!(eval(r#"true || user.metadata.name"#));
    assert!(!eval(r#"false && user.metadata.name"#));
    assert!(eval(r#"true || unknown_fn()"#));
    assert!(eval("true && true && true && !false"));
}

#[test]
fn string_escapes() {
    let input = json!({"user": {"metadata": {"name": "a\"b\\c\nd\te/é☃"}}});
    assert_eq!(
        evaluate(
            r#"user.metadata.name == "a\"b\\c\nd\te\/\u00e9\u2603""#,
            &input
        ),
        Ok(true)
    );
    assert_eq!(
        evaluate(r#"user.metadata.name == "a\"b\\c\nd\te/é☃""#, &input),
        Ok(true)
    );
    assert_eq!(evaluate(r#""it\'s" == `it's`"#, &input), Ok(true));
    assert_eq!(evaluate(r#""\r\0" == "\u000d\u0000""#, &input), Ok(true));
    assert_eq!(evaluate(r#"`raw \n` == "raw \\n""#, &input), Ok(true));
}

#[test]
fn syntax_errors_have_columns() {
    check_error("", ErrorKind::Syntax, 1, "expected a value");
    check_error(
        "user.metadata.name ==",
        ErrorKind::Syntax,
        22,
        "expected a value",
    );
    check_error(
        r#"equals(user.metadata.name "x")"#,
        ErrorKind::Syntax,
        27,
        "expected `,` or `)`",
    );
    check_error(r#"(true"#, ErrorKind::Syntax, 6, "expected `)`");
    check_error(r#"true)"#, ErrorKind::Syntax, 5, "unexpected `)`");
    check_error(r#"true & false"#, ErrorKind::Syntax, 6, "expected `&&`");
    check_error(r#"true | false"#, ErrorKind::Syntax, 6, "expected `||`");
    check_error(r#"verb = "read""#, ErrorKind::Syntax, 6, "expected `==`");
    check_error(
        r#"verb == "read"#,
        ErrorKind::Syntax,
        9,
        "unterminated string",
    );
    check_error(
        r#"verb == `read"#,
        ErrorKind::Syntax,
        9,
        "unterminated string",
    );
    check_error(
        r#"verb == "re\qd""#,
        ErrorKind::Syntax,
        12,
        "unknown escape `\\q`",
    );
    check_error(
        r#"verb == "\u12""#,
        ErrorKind::Syntax,
        10,
        "four hexadecimal digits",
    );
    check_error(
        r#"verb == "\ud800""#,
        ErrorKind::Syntax,
        10,
        "not a character",
    );
    check_error(
        r#"verb == 'read'"#,
        ErrorKind::Syntax,
        9,
        "unexpected character `'`",
    );
    check_error(
        r#"group.name == "x""#,
        ErrorKind::Syntax,
        1,
        "unknown identifier `group`",
    );
    check_error(
        r#"user. == "x""#,
        ErrorKind::Syntax,
        7,
        "expected a field name",
    );
    check_error(
        r#"user.spec.traits["team" == "x""#,
        ErrorKind::Syntax,
        31,
        "expected `]`",
    );
    check_error("true true", ErrorKind::Syntax, 6, "unexpected `true`");
    // Columns count characters, not bytes.
    check_error(r#""é☃" == = "x""#, ErrorKind::Syntax, 9, "expected `==`");
    let deep = "(".repeat(100) + "true" + &")".repeat(100);
    check_error(&deep, ErrorKind::Syntax, MAX_DEPTH + 1, "nested too deeply");
    let long_and = ["true"; 5000].join(" && ");
    assert!(eval(&long_and), "long flat chains do not recurse");
}

/// The hooks' error output (ABI §3) carries the kind: `syntax` for an expression that does
/// not parse (where clause or action), left out (an evaluation failure) otherwise.
#[test]
fn hook_errors_carry_the_syntax_kind() {
    use portcullis_guest::{GuestError, IntoGuestError};
    let output = |e: Error| serde_json::to_value(GuestError::from(e).into_guest_error()).unwrap();
    assert_eq!(
        output(error("(")),
        json!({"error": "syntax error: expected a value, found the end of the expression at column 2", "kind": "syntax"})
    );
    let not_a_call = run_action("user.metadata.name", &input()).unwrap_err();
    assert_eq!(output(not_a_call)["kind"], "syntax");
    let type_error = output(error("user.metadata.name"));
    assert!(type_error.get("kind").is_none(), "{type_error}");
    assert!(type_error["error"]
        .as_str()
        .unwrap()
        .starts_with("type error: "));
    let unknown = evaluate(r#"nope("x")"#, &input()).unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::Function);
    assert!(output(unknown).get("kind").is_none());
}

#[test]
fn type_errors_have_columns() {
    check_error(
        r#"user.metadata.name"#,
        ErrorKind::Type,
        1,
        "must be a boolean, found a string",
    );
    check_error(
        r#"user.metadata.name && true"#,
        ErrorKind::Type,
        1,
        "`&&` needs booleans",
    );
    check_error(
        r#"false || set()"#,
        ErrorKind::Type,
        10,
        "`||` needs booleans, found a list",
    );
    check_error(
        r#"!user.spec.roles"#,
        ErrorKind::Type,
        2,
        "`!` needs booleans",
    );
    check_error(
        r#"contains(user.spec.roles)"#,
        ErrorKind::Type,
        1,
        "takes 2 arguments, found 1",
    );
    check_error(
        r#"true && equals("a")"#,
        ErrorKind::Type,
        9,
        "`equals` takes 2 arguments",
    );
    check_error(r#"is_subset()"#, ErrorKind::Type, 1, "at least 1 argument");
    check_error(
        r#"contains(user.spec.roles, set("a"))"#,
        ErrorKind::Type,
        27,
        "the item must be a string, found a list",
    );
    check_error(
        r#"contains(user.metadata, "a")"#,
        ErrorKind::Type,
        10,
        "found an object",
    );
    check_error(
        r#"contains(user.spec.traits["mixed"], "a")"#,
        ErrorKind::Type,
        10,
        "list of non-strings",
    );
    check_error(
        r#"has_prefix(user.spec.roles, "d")"#,
        ErrorKind::Type,
        12,
        "the text must be a string",
    );
    check_error(
        r#"all_equal(user.spec.roles, true)"#,
        ErrorKind::Type,
        28,
        "the value must be a string, found a boolean",
    );
    check_error(
        r#"set(true)"#,
        ErrorKind::Type,
        5,
        "expected a list of strings, found a boolean",
    );
    check_error(
        r#"user.spec.traits[set("a")] == "x""#,
        ErrorKind::Type,
        18,
        "an index must be a string",
    );
    let e = error("user.metadata.name");
    assert_eq!(
        e.to_string(),
        "type error: the expression must be a boolean, found a string at column 1"
    );
}

#[test]
fn unknown_functions_go_to_the_host() {
    // Natively there is no host: unknown function.
    check_error(
        r#"true && business_hours(user.spec.traits["tz"])"#,
        ErrorKind::Function,
        9,
        "unknown function `business_hours`",
    );

    struct Extra;
    impl Functions for Extra {
        fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, String> {
            match name {
                "business_hours" => Ok(Some(Value::Bool(args == [json!(["UTC"])]))),
                "first_team" => Ok(args.first().and_then(|a| a.get(0)).cloned()),
                "nothing" => Ok(Some(Value::Null)),
                "echo" => Ok(Some(Value::Array(args.to_vec()))),
                "broken" => Err("it broke".to_string()),
                _ => Ok(None),
            }
        }
    }
    let mut input = input();
    input["user"]["spec"]["traits"]["tz"] = json!(["UTC"]);
    let eval = |expression: &str| evaluate_with(expression, &input, &Extra);
    assert_eq!(eval(r#"business_hours(user.spec.traits["tz"])"#), Ok(true));
    assert_eq!(
        eval(r#"first_team(user.spec.traits["team"]) == "dba""#),
        Ok(true)
    );
    assert_eq!(eval(r#"nothing() == """#), Ok(true));
    assert_eq!(eval(r#"echo("a", "b") == set("a", "b")"#), Ok(true));
    assert_eq!(
        eval(r#"echo(user.metadata) == echo(user.metadata)"#),
        Ok(true)
    );
    assert_eq!(
        eval(r#"contains(echo("a", user.spec.traits["none"]), "a")"#).map_err(|e| e.kind),
        Err(ErrorKind::Type)
    );
    let e = eval("broken()").unwrap_err();
    assert_eq!(
        e.to_string(),
        "function error: function `broken` failed: it broke at column 1"
    );
    let e = eval("  missing()").unwrap_err();
    assert_eq!((e.kind, e.column), (ErrorKind::Function, 3));
}

#[test]
fn log_actions() {
    let effects = run_action(
        r#"log("info", "%v read %v", user.metadata.name, resource.metadata.name)"#,
        &input(),
    )
    .unwrap();
    assert_eq!(
        effects,
        [Effect::Log {
            level: Level::Info,
            message: "alice read dba-readonly".into()
        }]
    );
    let message = |expression: &str| match run_action(expression, &input()).unwrap().pop() {
        Some(Effect::Log { message, .. }) => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        message(r#"log("debug", "roles %v, 100%%", user.spec.roles)"#),
        "roles [dev auditor], 100%"
    );
    assert_eq!(
        message(r#"log("warn", "%v %v", verb)"#),
        "read %!v(MISSING)"
    );
    assert_eq!(
        message(r#"log("error", "x", verb, kind)"#),
        "x%!(EXTRA read, role)"
    );
    assert_eq!(
        message(r#"log("info", "%s|%d|%v|%v", verb, user.spec.traits["no"], true)"#),
        "read|%d||true"
    );
    assert_eq!(message(r#"log("info", "end %")"#), "end %!(NOVERB)");
    let level = |expression: &str| match run_action(expression, &input()).unwrap().pop() {
        Some(Effect::Log { level, .. }) => level,
        other => panic!("{other:?}"),
    };
    assert_eq!(level(r#"log("WARNING", "")"#), Level::Warn);
    assert_eq!(level(r#"log("Debug", "")"#), Level::Debug);
    assert_eq!(level(r#"log("error", "")"#), Level::Error);
}

#[test]
fn annotate_action_and_action_errors() {
    assert_eq!(
        run_action(r#"annotate("reviewed-by", user.metadata.name)"#, &input()),
        Ok(alloc::vec![Effect::Annotate {
            key: "reviewed-by".into(),
            value: "alice".into()
        }])
    );
    let error = |expression: &str| run_action(expression, &input()).unwrap_err();
    let e = error(r#"email("x")"#);
    assert_eq!((e.kind, e.column), (ErrorKind::Function, 1));
    assert!(e.message.contains("unknown action `email`"));
    let e = error(r#"log("loud", "x")"#);
    assert_eq!((e.kind, e.column), (ErrorKind::Type, 5));
    assert!(e.message.contains("unknown log level `loud`"));
    let e = error(r#"log("info")"#);
    assert!(e.message.contains("at least 2 arguments"));
    let e = error(r#"log("info", user.spec.roles)"#);
    assert_eq!(e.column, 13);
    let e = error(r#"true"#);
    assert_eq!(e.kind, ErrorKind::Syntax);
    let e = error(r#"log("info", "%v", nope())"#);
    assert_eq!((e.kind, e.column), (ErrorKind::Function, 19));
    let e = error(r#"annotate("a")"#);
    assert!(e.message.contains("takes 2 arguments"));
    let e = run_action_with(r#"log("info" "x")"#, &input(), &crate::NoFunctions).unwrap_err();
    assert_eq!((e.kind, e.column), (ErrorKind::Syntax, 12));
}

#[test]
fn lazy_evaluation_serves_where_and_actions() {
    // The hooks read their input through `input_get_json`; natively a parsed input plays the
    // host's part.
    let input = input();
    assert_eq!(
        crate::evaluate_lazy(
            r#"contains(user.spec.traits["team"], "dba")"#,
            &input,
            &crate::NoFunctions
        ),
        Ok(true)
    );
    assert_eq!(
        crate::run_action_lazy(
            r#"log("info", "hi %v", user.metadata.name)"#,
            &input,
            &crate::NoFunctions
        ),
        Ok(alloc::vec![Effect::Log {
            level: Level::Info,
            message: "hi alice".into()
        }])
    );
    assert_eq!(
        crate::evaluate_lazy("(", &input, &crate::NoFunctions).map_err(|e| e.to_string()),
        Err("syntax error: expected a value, found the end of the expression at column 2".into())
    );
}

#[test]
fn lazy_reads_agree_with_the_parsed_input() {
    let input = serde_json::json!({
        "expression": "ignored",
        "user": {"metadata": {"name": "alice"},
                 "spec": {"roles": ["dev", "dba"], "traits": {"team": ["web", "dba"], "n": [], "a/b": ["x"], "t~": ["y"], "0": ["z"]}}},
        "resource": {"metadata": {"name": "dba", "labels": {"env": "prod"}},
                     "spec": {"count": 5, "flag": true, "s": "true", "nul": null, "list": [{"0": "q"}]}},
        "verb": "read",
        "kind": "role",
    });
    for expression in [
        r#"contains(user.spec.traits["team"], "dba")"#,
        r#"contains(user.spec.traits["missing"], "dba")"#,
        r#"equals(user.metadata.name, "alice") && !equals(resource.metadata.name, "x")"#,
        r#"equals(verb, "read") && equals(kind, "role")"#,
        r#"contains(user.spec.roles, "dba")"#,
        r#"equals(resource.metadata.labels["env"], "prod")"#,
        r#"equals(resource.spec.count, "5")"#,
        r#"contains(user.spec.traits["a/b"], "x") && contains(user.spec.traits["t~"], "y")"#,
        r#"equals(user.spec.traits["n"], "")"#,
        r#"equals(user.nothing.deeper, "")"#,
        r#"equals(user.spec.roles["1"], "dba")"#,
        r#"equals(user.spec.traits["0"], "z")"#,
        r#"equals(resource.spec.list["0"]["0"], "q")"#,
        r#"resource.spec.flag"#,
        r#"equals(resource.spec.s, "true")"#,
        r#"resource.spec.s"#,
        r#"equals(resource.spec.nul, "") && equals(resource.spec.nul, set())"#,
        r#"equals(user.metadata, user.metadata)"#,
        r#"equals(resource.spec.count, 5)"#,
    ] {
        let parsed = crate::evaluate_with(expression, &input, &crate::NoFunctions);
        let lazy = crate::evaluate_lazy(expression, &input, &crate::NoFunctions);
        assert_eq!(
            parsed.map_err(|e| e.to_string()),
            lazy.map_err(|e| e.to_string()),
            "{expression}"
        );
    }
}

#[test]
fn session_identifiers_read_the_session_or_empty() {
    let mut with_session = input();
    with_session["kind"] = json!("session");
    with_session["session"] = json!({
        "login": "root",
        "participants": ["alice", "bob"],
        "server_id": "node-1"
    });
    let own = r#"contains(session.participants, user.metadata.name)"#;
    assert_eq!(evaluate(own, &with_session), Ok(true));
    assert_eq!(
        evaluate(
            r#"session.login == "root" && session.server_id == "node-1""#,
            &with_session
        ),
        Ok(true)
    );
    // Without a session (another kind, or a listing) the identifiers read as empty.
    assert_eq!(evaluate(own, &input()), Ok(false));
    assert_eq!(evaluate(r#"ssh_session.login == """#, &input()), Ok(true));
    let mut active = input();
    active["ssh_session"] = json!({"participants": ["alice"]});
    assert_eq!(
        evaluate(
            r#"contains(ssh_session.participants, user.metadata.name)"#,
            &active
        ),
        Ok(true)
    );
}

/// Number literals are JSON numbers (ABI §4.4: arguments are JSON values): passed to extra
/// functions as numbers, equal to the input's numbers (which read as their text).
#[test]
fn number_literals_are_json_numbers() {
    struct Echo;
    impl Functions for Echo {
        fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, String> {
            match name {
                "is_int" => Ok(Some(Value::Bool(
                    args == [json!(5), json!(-2.5), json!(1000.0)],
                ))),
                _ => Ok(None),
            }
        }
    }
    let input = input();
    assert_eq!(
        evaluate_with("is_int(5, -2.5, 1e3)", &input, &Echo),
        Ok(true)
    );
    assert!(eval("user.spec.uid == 1001"));
    assert!(eval("user.spec.uid != 1002"));
    assert!(!eval(r#"user.spec.uid == "1002""#));
    check_error(
        "user.spec.uid == 01",
        ErrorKind::Syntax,
        18,
        "`01` is not a number",
    );
    check_error(
        "user.spec.uid == 1x",
        ErrorKind::Syntax,
        18,
        "`1x` is not a number",
    );
    check_error("5 && true", ErrorKind::Type, 1, "a number");
}

#[test]
fn extra_functions_are_every_call_that_is_not_built_in() {
    use crate::parser::extra_functions;
    assert_eq!(
        extra_functions(
            r#"contains(set("a"), "a") && (business_hours(user.spec.traits[tz("x")]) || !on_call(1)) && business_hours("y")"#,
            false
        ),
        Ok(alloc::vec![
            "business_hours".to_string(),
            "tz".to_string(),
            "on_call".to_string()
        ])
    );
    assert_eq!(
        extra_functions("equals(verb, \"read\")", false),
        Ok(alloc::vec![])
    );
    assert!(extra_functions("f(", false).is_err());
    // An action's own name is not a call; what its arguments call is.
    assert_eq!(
        extra_functions(r#"log("info", "%v", owner(resource.metadata.name))"#, true),
        Ok(alloc::vec!["owner".to_string()])
    );
    assert_eq!(
        extra_functions(r#"annotate("k", "v")"#, true),
        Ok(alloc::vec![])
    );
    assert_eq!(
        extra_functions(r#"log("info", "x")"#, false),
        Ok(alloc::vec!["log".to_string()])
    );
}
