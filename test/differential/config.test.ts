// Differential test of the configuration loader against the reference:
// every file is checked with `nats-server -t -c <file>` (test-config mode)
// and with loadConfigFile, and the verdicts must agree. Where the reference's
// output is deterministic, the printed text must be identical too.
//
// The reference under -t fails on warnings as well as errors
// (server/opts.go ConfigureOptions returns any processConfigErr), so the
// tsnats verdict is "throws, or has reference warnings".
//
// Not covered here: include loops (the reference recurses until its stack
// overflows) and 2.10 keys tsnats accepts (logtime_utc, cluster pool_size...).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createAccount, createOperator } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator } from '@nats-io/jwt';
import { ConfigError, loadConfigFile } from '../../src/config/load.js';
import { referenceBinary } from '../helpers/servers.js';

interface Case {
  name: string;
  text: string;
  /** false when the reference's output depends on Go map order */
  exact?: boolean;
  /**
   * Texts the reference picks among at random (Go map order, e.g. the
   * position of whichever key of a map it checks first): any of them counts
   * as the same answer; the rest of the output is compared exactly.
   */
  anyOf?: string[];
  env?: Record<string, string>;
}

/** Files the cases include. */
const FILES: Record<string, string> = {
  "sub/inc.conf": "port: 4999\nfoo: 1\n",
  "sub/auth.conf": "user: a\npassword: \"b c\"\n",
  "inc/base.conf": "port: 4444\ndebug: true\n",
  "inc/auth.conf": "user: u\npassword: p\n",
  "sub/a.conf": "include deeper/b.conf\n",
  "sub/deeper/b.conf": "port: 4555\n",
  "sub/bad.conf": "port: [\n",
  "sub/badtype.conf": "\n  port: \"x\"\n",
};

const CASES: Case[] = [
  { name: "a1", text: "port: 1.5\ndebug: \"yes\"\nhost: [1]\nserver_name: {a:1}\ntrace: 2020-01-01T00:00:00Z\n" },
  { name: "a10", text: "write_deadline: \"2x\"\n" },
  { name: "a11", text: "lame_duck_grace_period: \"-1s\"\n" },
  { name: "a2", text: "listen: \"abc\"\n" },
  { name: "a3", text: "listen: \"1.2.3.4:x\"\n" },
  { name: "a4", text: "listen: true\n" },
  { name: "a5", text: "http: 8222\nlisten: 127.0.0.1:4333\n" },
  { name: "a6", text: "ping_interval: \"abc\"\n" },
  { name: "a7", text: "lame_duck_duration: \"10s\"\n" },
  { name: "a8", text: "lame_duck_duration: 60\n" },
  { name: "a9", text: "max_sub_tokens: 0\nmax_control_line: 3GB\n" },
  { name: "acc1", text: "accounts {\n  A { users: [{user: a, password: a}], exports: [{stream: \"foo.>\"}] }\n  B { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: \"bar\"}}] }\n}\n" },
  { name: "acc2", text: "accounts {\n  A { users: [{user: a, password: a}] }\n  B { imports: [{stream: {account: C, subject: \"bar\"}}] }\n}\n" },
  { name: "acc3", text: "accounts {\n  A { exports: [{stream: \"foo.>\", accounts: [B]}] }\n  B { imports: [{stream: {account: A, subject: \"foo.x\"}, prefix: \"p\"}, {service: {account: A, subject: \"svc\"}}] }\n}\n" },
  { name: "acc4", text: "accounts: [A, B, A, \"$G\"]\n" },
  { name: "authbad", text: "authorization {\n  user: 1\n  users: [ {user: a, password: b, bad: 1} ]\n  zzz: 2\n}\n", exact: false },
  { name: "baddate", text: "port: 2020-13-01T00:00:00Z\n" },
  { name: "bcrypt", text: "authorization { user: a, password: $2a$11$abcdefghijk }\n" },
  { name: "bigint", text: "port: 99999999999999999999\n" },
  { name: "bigpayload", text: "max_payload: 3GB\n" },
  { name: "clusterbad", text: "cluster {\n  port: \"x\"\n  name: 5\n  foo: 1\n}\n", exact: false },
  { name: "date", text: "a: 2020-01-01T00:00:00Z\n" },
  { name: "env1", text: "port: $FOO\n" },
  { name: "env2", text: "server_name: $FOO\n" },
  { name: "env3", text: "server_name: $FOO\n" },
  { name: "esc", text: "server_name: \"a\\qb\"\n" },
  { name: "good", text: "port: 4333\n" },
  { name: "inc1", text: "include \"sub/inc.conf\"\n" },
  { name: "inc2", text: "authorization {\n  include sub/auth.conf\n}\n" },
  { name: "inc3", text: "authorization {\n  include sub/auth.conf; timeout: 3\n}\n" },
  { name: "lexerr", text: "\nfoo = [1, 2,,]\n" },
  { name: "lexerr2", text: "foo { a: 1 b: 2 }\n" },
  { name: "missinc", text: "include ./nope.conf\n" },
  { name: "nested_var", text: "authorization {\n  U: alice\n  user: $U\n  password: x\n}\n" },
  { name: "op1", text: "operator: [\"nope.jwt\"]\n" },
  { name: "op2", text: "operator: \"nope.jwt\"\n" },
  { name: "perm1", text: "authorization { users: [{user: a, password: b, permissions: {publish: {allow: [\"a.>\"], deny: \"b\"}, subscribe: [\"c\", \"d e\"], allow_responses: {max: 2, expires: \"1m\"}, zz: 1}}] }\n" },
  { name: "perm2", text: "authorization { users: [{user: a, password: b, permissions: {publish: \"a..b\"}}] }\n" },
  { name: "pingnum", text: "ping_interval: 60\n" },
  { name: "port_str", text: "port: \"abc\"\n" },
  { name: "port_str2", text: "\n  port: \"abc\"\n" },
  { name: "sfx", text: "max_payload: 1kbb\n" },
  { name: "sizes", text: "max_payload: 1MB\nmax_pending: 2m\n" },
  { name: "tls1", text: "tls { cert_file: \"nope.pem\" }\n" },
  { name: "tls2", text: "tls { cert_file: \"nope.pem\", key_file: \"k.pem\", foo: 1 }\n" },
  { name: "tls3", text: "tls { cert_file: \"nope.pem\", key_file: \"k.pem\" }\n" },
  { name: "unblock", text: "a {\n b: 1\n" },
  { name: "undef", text: "a: $FOO\n" },
  { name: "undef2", text: "\n\nauthorization {\n user: $U\n}\n" },
  { name: "unk", text: "foo: 1\nbar = 2\n" },
  { name: "unterm", text: "a: \"abc\n" },
  { name: "vars", text: "X: 4222\nport: $X\n" },
  { name: "varsunused", text: "X: 4222\nport: 4000\n" },
  { name: "bad_acc_nkey", text: "accounts { A { nkey: \"xx\" } }\n" },
  { name: "bad_acc_notmap", text: "accounts { A: 1 }\n" },
  { name: "bad_acc_reserved", text: "accounts { \"$G\": {} }\n" },
  { name: "bad_acc_unknown", text: "accounts { A { foo: 1 } }\n" },
  { name: "bad_arr_eof", text: "a: [1, 2\n" },
  { name: "bad_block", text: "a: (\nfoo\n" },
  { name: "bad_bool_case", text: "debug: True\n" },
  { name: "bad_clusterperm", text: "cluster { port: 6222, permissions: { publish: \"a\", allow_responses: true } }\n" },
  { name: "bad_clusterperm2", text: "cluster { port: 6222, permissions: \"abc\" }\n" },
  { name: "bad_clustertoken", text: "cluster { port: 6222, authorization { token: abc } }\n" },
  { name: "bad_clusteruser", text: "cluster { port: 6222, authorization { users: [{user: a, password: b}] } }\n" },
  { name: "bad_conn_types", text: "authorization { users: [{user: a, password: b, allowed_connection_types: [\"foo\", \"STANDARD\", \"bar\"]}] }\n" },
  { name: "bad_datetime", text: "a: 2020-1-01T00:00:00Z\n" },
  { name: "bad_dot", text: "a: .5\n" },
  { name: "bad_dq_key", text: "\"port: 5\n" },
  { name: "bad_dupuser", text: "authorization { users: [{user: a, password: b}] }\naccounts { A { users: [{user: a, password: c}] } }\n", exact: false },
  { name: "bad_env", text: "port: $NOPE_NOT_SET\n" },
  { name: "bad_exports", text: "accounts { A { exports: {stream: x} } }\n" },
  { name: "bad_exports2", text: "accounts { A { exports: [{stream: x, service: y}] } }\n", exact: false },
  { name: "bad_exports3", text: "accounts { A { exports: [{service: y, response: bogus}] } }\n" },
  { name: "bad_exports4", text: "accounts { A { exports: [{stream: x, accounts: [B]}] } }\n" },
  { name: "bad_float", text: "a: 1.x\n" },
  { name: "bad_float_port", text: "port: 42.5\n" },
  { name: "bad_gw", text: "gateway { foo: 1 }\n" },
  { name: "bad_hex", text: "a: \"\\xZZ\"\n" },
  { name: "bad_http", text: "http: \"abc\"\n" },
  { name: "bad_imports", text: "accounts { A { exports: [{stream: \"x\"}] }\n B { imports: [{stream: {account: A}}] } }\n" },
  { name: "bad_imports2", text: "accounts { A { exports: [{stream: \"x.>\"}] }\n B { imports: [{stream: {account: A, subject: \"x.y\"}, prefix: \"p.*\"}] } }\n" },
  { name: "bad_imports3", text: "accounts { A { exports: [{service: \"x\"}] }\n B { imports: [{service: {account: A, subject: \"x\"}}, {service: {account: A, subject: \"x\"}}] } }\n" },
  // bad_imports4 (a stream import with both prefix and to) is not compared:
  // the reference checks it only when Go's map order visits "prefix" before
  // "to", so its verdict changes from run to run. tsnats always refuses it.
  { name: "bad_incl_num", text: "include 5\n" },
  { name: "bad_js", text: "jetstream: maybe\n" },
  { name: "bad_js2", text: "jetstream { foo: 1 }\n" },
  { name: "bad_js3", text: "jetstream { max_mem: \"1X\" }\n" },
  { name: "bad_js4", text: "jetstream { domain: 1 }\n" },
  { name: "bad_js5", text: "store_dir: \"/a\"\njetstream { store_dir: \"/b\" }\n", exact: false },
  { name: "bad_js6", text: "jetstream { limits { duplicate_window: \"x\" } }\n" },
  { name: "bad_js7", text: "jetstream { limits: 5 }\n" },
  { name: "bad_js8", text: "jetstream { cipher: rot13 }\n" },
  { name: "bad_js9", text: "jetstream { max_outstanding_catchup: true }\n" },
  { name: "bad_js10", text: "jetstream { enabled: \"x\" }\n" },
  { name: "bad_js11", text: "jetstream { limits { max_ack_pending: 1, bar: 2 } }\n" },
  { name: "bad_js_acc", text: "accounts { A { jetstream { max_mem: \"1G\" } } }\n" },
  { name: "bad_js_acc2", text: "accounts { A { jetstream { max_bytes_required: 1 } } }\n" },
  { name: "bad_js_acc3", text: "accounts { A { jetstream: sometimes } }\n" },
  { name: "bad_js_acc4", text: "accounts { A { jetstream: 5 } }\n" },
  { name: "bad_js_acc5", text: "accounts { A { jetstream { foo: 1 } } }\n" },
  { name: "bad_js_domain", text: "default_js_domain: 5\n" },
  { name: "bad_key_sep", text: ": 5\n" },
  { name: "bad_lame", text: "lame_duck_duration: \"abc\"\n" },
  { name: "bad_leaf", text: "leafnodes { port: \"x\" }\n" },
  { name: "bad_leaf2", text: "leafnodes { foo: 1 }\n" },
  { name: "bad_limits", text: "accounts { A { limits: { foo: 1 } } }\n" },
  { name: "bad_listen_ipv6", text: "listen: \"[::1]:x\"\n" },
  { name: "bad_map_comma", text: "a { , }\n" },
  { name: "bad_map_eof", text: "a { b: 1 \n" },
  { name: "bad_mapping", text: "mappings { \"a..b\": \"c\" }\n" },
  { name: "bad_mapping2", text: "mappings { \"a\": {dest: \"b\"} }\n" },
  { name: "bad_mapping3", text: "mappings { \"a\": [{dest: \"b\", weight: 200}] }\n" },
  { name: "bad_maxpay", text: "max_payload: \"1MB\"\n" },
  { name: "bad_mqtt", text: "mqtt { max_ack_pending: 70000 }\n" },
  { name: "bad_mqtt2", text: "mqtt { foo: 1 }\n" },
  { name: "bad_neg", text: "a: -x\n" },
  { name: "bad_nkey", text: "authorization { users: [{nkey: \"UABC\"}] }\n" },
  // server/opts.go parseUsers walks the user map in Go's random order: the
  // error is reported at the nkey (1:25) or at the user (1:89) token
  { name: "bad_nkeyuser", text: "authorization { users: [{nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4, user: x}] }\n", anyOf: [":1:25:", ":1:89:"] },
  { name: "bad_ocsp", text: "ocsp: \"x\"\n" },
  { name: "bad_op_arr", text: "operator: [1]\n" },
  { name: "bad_perm_arr", text: "authorization { permissions: { publish: [1, 2] } }\n" },
  { name: "bad_perm_field", text: "authorization { permissions: { publish: { allow: \"a\", foo: \"b\" } } }\n" },
  { name: "bad_perm_map", text: "authorization { permissions: { publish: { allow: \"a..b\" } } }\n" },
  { name: "bad_perm_notmap", text: "authorization { permissions: \"x\" }\n" },
  { name: "bad_perm_resp", text: "authorization { permissions: { allow_responses: { max: 1, expires: \"x\" } } }\n" },
  { name: "bad_perm_resp2", text: "authorization { permissions: { allow_responses: \"x\" } }\n" },
  { name: "bad_preload", text: "resolver_preload { AAA: \"xxx\" }\n" },
  { name: "bad_resolver", text: "resolver: FOO\n" },
  { name: "bad_routes", text: "cluster { port: 6222, routes: [\"nats://a b:1\"] }\n" },
  { name: "bad_routes2", text: "cluster { port: 6222, routes: \"nats://a:1\" }\n" },
  { name: "bad_sys", text: "system_account: 1\n" },
  { name: "bad_tags", text: "server_tags: [1]\n" },
  { name: "bad_tls_cipher", text: "tls { cipher_suites: [\"FOO\"] }\n" },
  { name: "bad_tls_curve", text: "tls { curve_preferences: [] }\n" },
  { name: "bad_tls_known", text: "tls { verify_cert_and_check_known_urls: true }\n" },
  { name: "bad_tls_pin", text: "tls { pinned_certs: [\"abc\"] }\n" },
  { name: "bad_tls_timeout", text: "tls { timeout: true }\n" },
  { name: "bad_tls_verify", text: "tls { verify: \"yes\" }\n" },
  { name: "bad_tokenarray", text: "authorization { token: a, users: [] }\n" },
  { name: "bad_tokenuser", text: "authorization { user: a, token: b }\n" },
  { name: "bad_tokpos", text: "accounts { A { exports: [{stream: \"x.*.>\", account_token_position: 2}] }\n B { imports: [{stream: {account: A, subject: \"x.C.>\"}}] } }\n" },
  { name: "bad_tokpos2", text: "accounts { A { exports: [{stream: \"x.y.>\", account_token_position: 2}] } }\n" },
  { name: "bad_unknown_nested_var", text: "cluster { X: 1, port: 6222 }\n" },
  { name: "bad_user_notmap", text: "authorization { users: [\"x\"] }\n" },
  { name: "bad_userarray", text: "authorization { user: a, users: [] }\n" },
  { name: "bad_usernouser", text: "authorization { users: [{password: b}] }\n" },
  { name: "bad_users_notarr", text: "authorization { users: \"x\" }\n" },
  { name: "bad_ws", text: "websocket { foo: 1 }\n" },
  { name: "bad_ws2", text: "websocket { handshake_timeout: true }\n" },
  { name: "bad_ws_auth", text: "websocket { port: 8080, no_tls: true, authorization { user: 1 } }\n" },
  { name: "good_accounts", text: "accounts {\n  A: {\n    users: [{user: a, password: a}]\n    exports: [{stream: \"a.>\"}, {service: \"svc.a\", response: stream, threshold: \"2s\"}, {stream: \"priv.>\", accounts: [B]}]\n  }\n  B: {\n    users: [{user: b, password: b}]\n    imports: [{stream: {account: A, subject: \"a.>\"}, prefix: \"fromA\"}, {service: {account: A, subject: \"svc.a\"}, to: \"a.svc\"}, {stream: {account: A, subject: \"priv.x\"}}]\n    default_permissions: {subscribe: {deny: \">\"}}\n  }\n  C: { limits: {max_conn: 10}, mappings: { \"foo\": \"bar\", \"w\": [{dest: \"w1\", weight: 40%}, {dest: \"w2\", weight: 60}] } }\n}\nsystem_account: A\n" },
  { name: "good_all", text: "listen: \"127.0.0.1:4333\"\nserver_name: srv1\nclient_advertise: \"1.2.3.4:4222\"\nhttp: \"127.0.0.1:8333\"\nhttps_port: 8443\nhttp_base_path: /mon\nmax_payload: 2MB\nmax_connections: 100\nmax_control_line: 2KB\nmax_pending: 10MB\nmax_subscriptions: 1000\nmax_sub_tokens: 16\nping_interval: \"30s\"\nping_max: 3\nwrite_deadline: \"5s\"\ndebug: true\ntrace: false\ntrace_verbose: false\nlogtime: false\nlog_file: \"/tmp/x.log\"\nlogfile_size_limit: 1GB\nsyslog: false\nremote_syslog: \"udp://localhost:514\"\npid_file: \"/tmp/x.pid\"\nports_file_dir: \"/tmp\"\nlame_duck_duration: \"1m\"\nlame_duck_grace_period: \"5s\"\nconnect_error_reports: 10\nreconnect_error_reports: 5\nserver_tags: [\"a:1\", \"B:2\"]\nallow_non_tls: false\nno_header_support: false\nmax_traced_msg_len: 100\nno_sublist_cache: true\nprof_port: 6060\n" },
  { name: "good_auth", text: "authorization {\n  timeout: 2.5\n  users: [\n    {user: alice, password: \"pw\", permissions: {publish: {allow: [\"a.>\"], deny: [\"a.b\"]}, subscribe: \"x.*\", allow_responses: true}}\n    {user: bob, pass: pw2, allowed_connection_types: [\"STANDARD\", \"websocket\"]}\n    {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}\n  ]\n  default_permissions: {publish: \"public.>\"}\n}\nno_auth_user: bob\n" },
  { name: "good_block", text: "server_name: (\nfoo\n)\n" },
  { name: "good_bool_case", text: "debug: TRUE\ntrace: Yes\nlogtime: OFF\n" },
  { name: "good_cluster", text: "cluster {\n  name: c1\n  listen: \"0.0.0.0:6333\"\n  routes: [\"nats://127.0.0.1:6334\", \"nats://127.0.0.1:6335\"]\n  authorization { user: ru, password: rp, timeout: 3 }\n  no_advertise: true\n  connect_retries: 5\n  permissions { import: \"foo.>\", export: [\"bar.>\"] }\n  advertise: \"1.2.3.4:6222\"\n}\n" },
  { name: "good_comments", text: "# c\n// c\nport: 4333 # c\ndebug: true // c\na { b: 1 # c\n}\narr: [1, # c\n 2]\n" },
  { name: "good_gw", text: "gateway { name: c1, listen: \"0.0.0.0:7222\", gateways: [{name: c2, url: \"nats://h:7222\"}] }\ncluster { name: c1 }\n" },
  { name: "good_include", text: "include \"inc/base.conf\"\nauthorization { include \"inc/auth.conf\" }\n" },
  { name: "good_js", text: "jetstream { store_dir: \"/tmp/js\", max_mem: 1G, max_file: \"10G\", domain: hub }\n" },
  { name: "good_js2", text: "jetstream: enabled\n" },
  { name: "good_js3", text: "jetstream { store: \"/tmp/js\", max_memory_store: \"512M\", max_file_store: 1T, key: k, cipher: aes, extension_hint: will_extend, unique_tag: az, max_outstanding_catchup: \"32M\", limits { max_ack_pending: 10, max_ha_assets: 2, max_request_batch: 5, duplicate_window: \"1m\" } }\n" },
  { name: "good_js4", text: "store_dir: \"/tmp/js\"\njetstream { enabled: false }\naccounts { A { jetstream: enabled }, B { jetstream { max_mem: 1024, max_store: 2048, max_streams: 3, max_consumers: 4, max_bytes_required: true, mem_max_stream_bytes: 5, disk_max_stream_bytes: 6, max_ack_pending: 7 } }, C { jetstream: disabled } }\ndefault_js_domain: { C: hub }\n" },
  { name: "good_leaf", text: "leafnodes { listen: \"0.0.0.0:7422\", remotes: [{url: \"nats://h:7422\", account: A}] }\naccounts { A {} }\n" },
  { name: "good_listen_ipv6", text: "listen: \"[::1]:4333\"\n" },
  { name: "good_mqtt", text: "mqtt { port: 1883, ack_wait: \"30s\", max_ack_pending: 100 }\nserver_name: m\njetstream: true\n" },
  { name: "good_nested_var", text: "cluster { X: 6222, port: $X }\n" },
  { name: "good_quoted_keys", text: "\"port\": 4333\n'debug': true\n" },
  { name: "good_resolver", text: "resolver: MEMORY\n" },
  { name: "good_resolver2", text: "resolver: URL(\"http://localhost:9090/jwt/v1/accounts/\")\n" },
  { name: "good_semi", text: "{ port: 4222; debug: true, trace = false }\n" },
  { name: "good_tokpos", text: "accounts { A { exports: [{stream: \"x.*.>\", account_token_position: 2}] }\n B { imports: [{stream: {account: A, subject: \"x.B.>\"}}] } }\n" },
  { name: "good_vars", text: "PORT: 4333\nNAME: \"srv\"\nport: $PORT\nserver_name: $NAME\nauthorization { U: alice\n users: [{user: $U, password: x}] }\n" },
  { name: "good_ws", text: "websocket {\n  port: 8080\n  no_tls: true\n  compression: true\n  same_origin: false\n  allowed_origins: [\"http://x.com\"]\n  handshake_timeout: \"3s\"\n  authorization { user: w, password: w }\n  jwt_cookie: \"jwt\"\n}\n" },
  { name: "warn_clusterperm", text: "cluster { port: 6222, authorization { user: a, password: b, permissions: { publish: \"x\" } } }\n" },
  { name: "warn_dup_routes", text: "cluster { port: 6222, routes: [\"nats://a:1\", \"nats://a:1\"] }\n" },
  { name: "warn_write", text: "write_deadline: 10\n" },
  { name: "brace", text: "{\nport: 4333\n}\n" },
  { name: "crlf", text: "port: 4333\ndebug: true\n" },
  { name: "inc_bad", text: "include \"sub/bad.conf\"\n" },
  { name: "inc_badtype", text: "include 'sub/badtype.conf'\n" },
  { name: "inc_dir", text: "include sub\n" },
  { name: "inc_missing_nested", text: "include sub/deeper/nope.conf\n" },
  { name: "inc_nested", text: "include sub/a.conf\n" },
  { name: "inc_var", text: "include sub/deeper/b.conf\nserver_name: $port\n" },
  { name: "nul", text: "port: 4\u000033\n" },
  { name: "slash", text: "port: 4333 / 5\n" },
  { name: "utf", text: "server_name: \"héllo\"\nfoo: 1\n" },
  { name: "utf2", text: "server_name: \"héllo\" foo: 1\n" },
  { name: "ws_warn", text: "ping_interval: 5\nwrite_deadline: 3\n" },
];

const ENV_CASES: Case[] = [
  { name: 'env_int', text: 'port: $TSNATS_T_INT\n', env: { TSNATS_T_INT: '4333' } },
  { name: 'env_size', text: 'max_payload: $TSNATS_T_SIZE\n', env: { TSNATS_T_SIZE: '2MB' } },
  { name: 'env_map', text: 'cluster: $TSNATS_T_MAP\n', env: { TSNATS_T_MAP: '{port: 6222, name: x}' } },
  { name: 'env_bad', text: 'port: $TSNATS_T_BAD\n', env: { TSNATS_T_BAD: 'a b' } },
  { name: 'env_str', text: 'server_name: $TSNATS_T_STR\n', env: { TSNATS_T_STR: 'hello' } },
  { name: 'env_arr', text: 'server_tags: $TSNATS_T_ARR\n', env: { TSNATS_T_ARR: '[a, b]' } },
  { name: 'env_wrong_type', text: 'port: $TSNATS_T_WT\n', env: { TSNATS_T_WT: 'abc' } },
  { name: 'env_missing', text: 'port: $TSNATS_T_MISSING_FOR_SURE\n' },
];

let dir = '';
const generated: Case[] = [];

function put(rel: string, contents: string): void {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, contents);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsnats-diffconf-'));
  for (const [rel, text] of Object.entries(FILES)) put(rel, text);
  // TLS material and JWTs for the cases that load them.
  for (const [c, k, cn] of [
    ['cert.pem', 'key.pem', 'localhost'],
    ['cert2.pem', 'key2.pem', 'other'],
  ]) {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', k, '-out', c, '-days', '2', '-subj', `/CN=${cn}`], { cwd: dir });
    assert.equal(r.status, 0, 'openssl is needed to create test certificates');
  }
  put('bad.pem', 'garbage\n');
  const okp = createOperator();
  const akp = createAccount();
  const op = await encodeOperator('op', okp, { system_account: akp.getPublicKey() });
  const acc = await encodeAccount('acc', akp, {}, { signer: okp });
  put('op.jwt', op);
  put('op_dec.jwt', `-----BEGIN NATS OPERATOR JWT-----\n${op}\n------END NATS OPERATOR JWT------\n`);
  const pin = 'a'.repeat(64);
  generated.push(
    { name: 'good_tls', text: `tls { cert_file: "cert.pem", key_file: "key.pem", timeout: 3, verify: true, cipher_suites: ["TLS_AES_128_GCM_SHA256"], curve_preferences: ["X25519"], pinned_certs: ["${pin}"] }\n` },
    { name: 'bad_tls_mismatch', text: 'tls { cert_file: "cert.pem", key_file: "key2.pem" }\n' },
    { name: 'bad_tls_garbage', text: 'tls { cert_file: "bad.pem", key_file: "key.pem" }\n' },
    { name: 'bad_tls_garbage_key', text: 'tls { cert_file: "cert.pem", key_file: "bad.pem" }\n' },
    { name: 'bad_tls_ca', text: 'tls { cert_file: "cert.pem", key_file: "key.pem", ca_file: "nope.pem" }\n' },
    { name: 'bad_tls_ca2', text: 'tls { cert_file: "cert.pem", key_file: "key.pem", ca_file: "bad.pem" }\n' },
    { name: 'good_tls_ca', text: 'tls { cert_file: "cert.pem", key_file: "key.pem", ca_file: "cert2.pem" }\n' },
    { name: 'good_cluster_tls', text: 'cluster { port: 6222, tls { cert_file: "cert.pem", key_file: "key.pem", verify_cert_and_check_known_urls: true } }\n' },
    { name: 'good_ws_tls', text: 'websocket { port: 8443, tls { cert_file: "cert.pem", key_file: "key.pem" } }\n' },
    { name: 'good_op', text: 'operator: "op.jwt"\nresolver: MEMORY\n' },
    { name: 'good_op_dec', text: 'operator: "op_dec.jwt"\nresolver: MEMORY\n' },
    { name: 'good_op_inline', text: `operator: "${op}"\nresolver: MEMORY\n` },
    { name: 'bad_op_inline', text: 'operator: "eyJabc"\nresolver: MEMORY\n' },
    { name: 'good_preload', text: `operator: "op.jwt"\nresolver: MEMORY\nresolver_preload { ${akp.getPublicKey()}: "${acc}" }\n` },
    { name: 'bad_preload2', text: 'resolver_preload { X: 5 }\n' },
    { name: 'bad_preload3', text: 'resolver_preload: 5\n' },
    { name: 'good_resolver_dir', text: `resolver { type: full, dir: "${dir}/jwtdir", allow_delete: true, interval: "2m" }\n` },
    { name: 'bad_resolver_dir', text: `resolver { type: cache, dir: "${dir}/jwtdir2", allow_delete: true, interval: "2m" }\n` },
    { name: 'bad_resolver_dir2', text: 'resolver { type: full, ttl: "1m" }\n' },
    { name: 'bad_resolver_dir3', text: `resolver { type: full, dir: "${dir}/cert.pem" }\n` },
    { name: 'good_trusted', text: `trusted: ["${okp.getPublicKey()}"]\n` },
    { name: 'good_trusted2', text: `trusted: "${okp.getPublicKey()}"\n` },
    { name: 'bad_trusted', text: 'trusted: ["ABC"]\n' },
    { name: 'bad_pinned', text: 'resolver_pinned_accounts: [1 ]\n' },
    { name: 'good_pinned', text: `resolver_pinned_accounts: ["${akp.getPublicKey()}"]\n` },
    { name: 'good_nkey_user', text: `authorization { users: [{nkey: ${createAccount().getPublicKey().replace(/^A/, 'U')}}] }\n` },
  );
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Verdict {
  ok: boolean;
  /** stderr as nats-server prints it */
  stderr: string;
}

function reference(name: string, env: Record<string, string> | undefined): Verdict {
  const r = spawnSync(referenceBinary(), ['-t', '-c', `${name}.conf`], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  if (r.error) {
    assert.fail(`cannot run the reference nats-server (${referenceBinary()}): ${r.error.message}; install nats-server v2.9.10 or set NATS_SERVER_BIN`);
  }
  return { ok: r.status === 0, stderr: r.stderr };
}

function mine(name: string, env: Record<string, string> | undefined): Verdict {
  const saved = process.cwd();
  const restore: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env ?? {})) {
    restore[k] = process.env[k];
    process.env[k] = v;
  }
  process.chdir(dir);
  try {
    const file = `${name}.conf`;
    const res = loadConfigFile(file);
    if (res.referenceWarnings.length > 0) {
      return { ok: false, stderr: `nats-server: ${res.referenceWarnings.map((w) => w + '\n').join('')}\n` };
    }
    return { ok: true, stderr: `nats-server: configuration file ${file} is valid\n` };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, stderr: `nats-server: ${e.referenceText}\n` };
  } finally {
    process.chdir(saved);
    for (const [k, v] of Object.entries(restore)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function check(c: Case): void {
  put(`${c.name}.conf`, c.text);
  const ref = reference(c.name, c.env);
  const got = mine(c.name, c.env);
  assert.equal(got.ok, ref.ok, `${c.name}: reference ${ref.ok ? 'accepts' : 'rejects'} (${ref.stderr.trim()}), tsnats ${got.ok ? 'accepts' : 'rejects'} (${got.stderr.trim()})`);
  if (c.exact === false) return;
  // One pass over all alternatives: replacing them one after the other would
  // rewrite the marker the first replacement inserted (it names them all).
  const anyOfRe = c.anyOf === undefined || c.anyOf.length === 0 ? null : new RegExp(c.anyOf.map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const anyOf = (s: string): string => (anyOfRe === null ? s : s.replace(anyOfRe, '<any of ' + c.anyOf!.join('|') + '>'));
  // Several errors come out in Go map order there; compare them as a set.
  // The "nats-server: " prefix goes on whichever error comes first, so drop it before sorting.
  const lines = (s: string): string[] => anyOf(s.replace(/^nats-server: /, '')).split('\n').sort();
  assert.deepEqual(lines(got.stderr), lines(ref.stderr), `${c.name}: output differs`);
}

test('the reference binary is available', () => {
  const r = spawnSync(referenceBinary(), ['--version'], { encoding: 'utf8' });
  assert.equal(r.error, undefined, `cannot run ${referenceBinary()}: install nats-server v2.9.10 or set NATS_SERVER_BIN`);
  assert.match(r.stdout + r.stderr, /2\.9\.10/);
});

test('syntax, option mapping and error texts agree with nats-server -t', () => {
  assert.ok(CASES.length > 150);
  for (const c of CASES) check(c);
});

test('environment variables agree with nats-server -t', () => {
  for (const c of ENV_CASES) check(c);
});

test('TLS files and operator JWTs agree with nats-server -t', () => {
  assert.ok(generated.length > 20);
  for (const c of generated) check(c);
});
