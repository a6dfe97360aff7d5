//! proptest generators for every message kind.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use tocsin_imtp::*;

pub fn id() -> impl Strategy<Value = Id> {
    "[A-Za-z0-9]{1,12}".prop_map(|s| Id::parse(&s).unwrap())
}

pub fn domain() -> impl Strategy<Value = Domain> {
    "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,3})?(\\.[a-z][a-z0-9]{0,6}){0,3}"
        .prop_map(|s| Domain::parse(&s).unwrap())
}

pub fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        // No '*': `im:*@x` is a pattern, not an identifier.
        "[a-zA-Z0-9!#$%&'+/=?^_`{|}~-]{1,8}(\\.[a-zA-Z0-9_-]{1,5}){0,2}",
        "\"([ a-zA-Z0-9@:.,]|\\\\\"|\\\\\\\\){0,10}\"",
    ]
}

pub fn address() -> impl Strategy<Value = Address> {
    (local_part(), domain()).prop_map(|(l, d)| Address::new(&l, d.as_str()).unwrap())
}

pub fn url() -> impl Strategy<Value = Url> {
    prop_oneof![
        4 => address().prop_map(Url::Im),
        2 => address().prop_map(Url::Presence),
        1 => "(mailto|sip|xmpp):[a-z0-9@.]{1,12}".prop_map(|s| Url::parse(&s).unwrap()),
    ]
}

pub fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![Just(Scheme::Im), Just(Scheme::Presence)]
}

pub fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        Just(Pattern::Any),
        "(im|presence|mailto|sip)".prop_map(Pattern::Scheme),
        (scheme(), domain()).prop_map(|(scheme, domain)| Pattern::Domain { scheme, domain }),
        (scheme(), domain()).prop_map(|(scheme, domain)| Pattern::Subdomain { scheme, domain }),
        url().prop_map(Pattern::Exact),
    ]
}

pub fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![
        domain().prop_map(Origin::Domain),
        url().prop_map(Origin::Url)
    ]
}

/// A trimmed header value, sometimes with non-ASCII.
pub fn text() -> impl Strategy<Value = String> {
    "[!-~é→]([ -~é]{0,24}[!-~])?"
}

pub fn extra() -> impl Strategy<Value = Vec<Header>> {
    vec(
        ("X-[A-Za-z0-9-]{1,10}", text()).prop_map(|(n, v)| Header::new(n, v)),
        0..3,
    )
}

pub fn meta() -> impl Strategy<Value = Meta> {
    (
        option::of(prop_oneof![
            Just(Astrength::Strong),
            Just(Astrength::Medium),
            Just(Astrength::Weak),
            Just(Astrength::None)
        ]),
        extra(),
    )
        .prop_map(|(astrength, extra)| Meta { astrength, extra })
}

pub fn payload() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..256)
}

pub fn content_type() -> impl Strategy<Value = Option<String>> {
    option::of("[a-z]{1,8}/[a-z.+-]{1,10}(; charset=[A-Za-z0-9-]{1,8})?")
}

pub fn mech() -> impl Strategy<Value = MechName> {
    "[A-Z0-9_-]{1,20}".prop_map(|s| MechName::parse(&s).unwrap())
}

pub fn subscription() -> impl Strategy<Value = Subscription> {
    ("[A-Za-z0-9]{0,6}", url()).prop_map(|(c, u)| Subscription::new(&c, u).unwrap())
}

pub fn auth() -> impl Strategy<Value = Auth> {
    let step = prop_oneof![
        (mech(), option::of(payload())).prop_map(|(mechanism, initial_response)| AuthStep::Start {
            mechanism,
            initial_response
        }),
        payload().prop_map(AuthStep::Continue),
        Just(AuthStep::Abort),
    ];
    (step, meta()).prop_map(|(step, meta)| Auth { step, meta })
}

pub fn send() -> impl Strategy<Value = SendMessage> {
    (
        (url(), url(), option::of(url()), vec(url(), 0..3)),
        (vec(domain(), 0..4), content_type(), payload(), meta()),
    )
        .prop_map(
            |((sender, inbox, orig_sender, orig_inbox), (visited, content_type, payload, meta))| {
                SendMessage {
                    sender,
                    inbox,
                    orig_sender,
                    orig_inbox,
                    visited: Visited(visited),
                    content_type,
                    payload,
                    meta,
                }
            },
        )
}

pub fn listen() -> impl Strategy<Value = Listen> {
    (url(), vec(pattern(), 0..3), vec(pattern(), 0..3), meta()).prop_map(
        |(inbox, only, except, meta)| Listen {
            inbox,
            only,
            except,
            meta,
        },
    )
}

pub fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        proptest::sample::select(vec![
            "auth",
            "shutdown",
            "change",
            "change-notify",
            "delete-mapping",
            "fetch",
            "fetch-for-update",
            "fetch-notify",
            "get-class",
            "insert-mapping",
            "set-class",
            "start-wi",
            "subscribe",
            "subscribe-notify",
            "terminate",
            "terminate-notify",
            "unsubscribe",
            "unsubscribe-notify",
            "listen",
            "send",
        ])
        .prop_map(|m| Method::parse(m).unwrap()),
        "x-[a-z0-9]{1,8}".prop_map(|m| Method::parse(&m).unwrap()),
    ]
}

/// Methods that decode to `Command::Other`.
pub fn raw_method() -> impl Strategy<Value = Method> {
    prop_oneof![
        proptest::sample::select(vec![
            "change",
            "delete-mapping",
            "fetch-for-update",
            "fetch-notify",
            "get-class",
            "insert-mapping",
            "set-class",
            "start-wi",
            "subscribe-notify",
            "terminate",
            "unsubscribe-notify",
        ])
        .prop_map(|m| Method::parse(m).unwrap()),
        "x-[a-z0-9]{1,8}".prop_map(|m| Method::parse(&m).unwrap()),
    ]
}

pub fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        auth().prop_map(Command::Auth),
        meta().prop_map(Command::Shutdown),
        send().prop_map(Command::Send),
        listen().prop_map(Command::Listen),
        (url(), url(), meta()).prop_map(|(watcher, presentity, meta)| Command::Fetch(Fetch {
            watcher,
            presentity,
            meta
        })),
        (subscription(), url(), meta()).prop_map(|(subscription, presentity, meta)| {
            Command::Subscribe(Subscribe {
                subscription,
                presentity,
                meta,
            })
        }),
        (subscription(), url(), meta()).prop_map(|(subscription, presentity, meta)| {
            Command::Unsubscribe(Subscribe {
                subscription,
                presentity,
                meta,
            })
        }),
        (url(), subscription(), content_type(), payload(), meta()).prop_map(
            |(presentity, subscription, content_type, payload, meta)| Command::ChangeNotify(
                ChangeNotify {
                    presentity,
                    subscription,
                    content_type,
                    payload,
                    meta
                }
            )
        ),
        (url(), subscription(), meta()).prop_map(|(presentity, subscription, meta)| {
            Command::TerminateNotify(TerminateNotify {
                presentity,
                subscription,
                meta,
            })
        }),
        (raw_method(), extra(), option::of(payload())).prop_map(|(method, extra, payload)| {
            Command::Other(CommandBody {
                method,
                headers: Headers::from(extra),
                payload,
            })
        }),
    ]
}

pub fn error_type() -> impl Strategy<Value = ErrorType> {
    prop_oneof![
        proptest::sample::select(vec![
            "malformed",
            "unknown-method",
            "resources",
            "communications",
            "source-authorization",
            "quota",
            "target-authorization",
            "target-not-found",
            "mapping-range",
            "update-race",
            "not-subscribed",
            "no-listeners",
            "loop",
            "sasl-challenge",
            "sasl-failure",
        ])
        .prop_map(ErrorType::parse),
        "x-[a-z]{1,8}".prop_map(|s| ErrorType::parse(&s)),
    ]
}

pub fn response() -> impl Strategy<Value = Response> {
    let ok = (
        option::of(origin()),
        content_type(),
        option::of(payload()),
        meta(),
    )
        .prop_map(|(unreliable, content_type, payload, meta)| {
            Outcome::Ok(OkReply {
                unreliable,
                content_type,
                payload,
                meta,
            })
        });
    let err = (
        error_type(),
        option::of(text()),
        option::of(origin()),
        content_type(),
        option::of(payload()),
        meta(),
    )
        .prop_map(
            |(error_type, description, originator, content_type, payload, meta)| {
                Outcome::Error(ErrorReply {
                    error_type,
                    description,
                    originator,
                    content_type,
                    payload,
                    meta,
                })
            },
        );
    (method(), prop_oneof![ok, err]).prop_map(|(method, outcome)| Response { method, outcome })
}

/// Any frame, raw headers included.
pub fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        vec(mech(), 0..4).prop_map(Frame::Mech),
        Just(Frame::Nop),
        (id(), method(), extra(), option::of(payload())).prop_map(|(id, method, h, payload)| {
            Frame::Command(CommandFrame {
                id,
                method,
                headers: Headers::from(h),
                payload,
            })
        }),
        (
            id(),
            prop_oneof![Just(Status::Ok), Just(Status::Error)],
            method(),
            extra(),
            option::of(payload())
        )
            .prop_map(
                |(id, status, method, h, payload)| Frame::Response(ResponseFrame {
                    id,
                    status,
                    method,
                    headers: Headers::from(h),
                    payload
                })
            ),
    ]
}
