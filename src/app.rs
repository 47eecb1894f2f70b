//! The application: every feature's state and routes assembled into one server, with the
//! middleware, the OpenAPI document and the hooks features register with the ones below them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::accounts::AccountsState;
use crate::accounts::service::LoginGuard;
use crate::apikeys::RateLimiter;
use crate::auth::store::SessionPolicy;
use crate::cases::calendar::Calendar;
use crate::cases::duplicates::RecentReports;
use crate::cases::hooks::CaseHooks;
use crate::db::Db;
use crate::db::group::GroupCommit;
use crate::grid::locate::SharedIndex;
use crate::volunteers::api as vol;
use crate::web::api::BearerAuth;
use crate::web::client::TrustedProxies;
use crate::web::metrics::{self, Metrics};
use crate::web::serve::ServeOptions;
use crate::{
    accounts, alarms, broadcasts, calls, campaigns, cases, command, councils, decisions, frontage, grid, ledgers, open311, party, property,
    registry, renovation, routing, services, stars, volunteers, web,
};

/// Everything the server holds; each feature gets its own part.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub calendar: Arc<Calendar>,
    pub grid_index: Arc<SharedIndex>,
    /// Where attachments live (`<data dir>/attachments/…`).
    pub data_dir: Arc<PathBuf>,
    /// A report this near (metres) and this recent (hours) to an open case of its category is flagged.
    pub duplicate_rule: (f64, i64),
    pub recent_reports: Arc<RecentReports>,
    /// Open311 requests per key and minute, in this process.
    pub open311_limits: Arc<RateLimiter>,
    /// Reports from the public grid page per address and grid, in this process.
    pub public_reports: Arc<cases::service::PublicReportGuard>,
    /// Where clients reach the server (`public_url`, else `http://{listen}`).
    pub public_url: Arc<str>,
    /// Sign-in throttles (per account, per client address), in this process.
    pub login_guard: Arc<LoginGuard>,
    /// How long sessions last (idle, absolute).
    pub sessions: SessionPolicy,
    /// Reverse proxies whose forwarding headers are believed.
    pub proxies: Arc<TrustedProxies>,
    /// Who may read `/metrics`; `metrics_on_main` false when it has its own address.
    pub metrics_gate: metrics::Gate,
    pub metrics_on_main: bool,
    /// Committed case changes, for the command centre's live screens.
    pub case_feed: Arc<cases::events::CaseFeed>,
    /// Who is connected to the calls socket now, and the calls between them (一键智达).
    pub calls: Arc<calls::hub::Hub>,
    /// Device alarms received by this process, and the per-device order they are handled in.
    pub alarm_counters: Arc<alarms::service::Counters>,
    pub alarm_locks: Arc<alarms::service::DeviceLocks>,
    /// A device's repeats within this many minutes join its open case.
    pub alarm_window_minutes: i64,
    /// Each district's routing model, loaded once (智能分派).
    pub routing_models: Arc<routing::service::Models>,
    /// The database's group commit: new reports are staged in it, and other writes that come in
    /// bursts (redemptions at the tills, check-ins as an activity starts) take a savepoint in it.
    pub writer: GroupCommit,
    /// Each district's case categories, kept until one changes.
    pub case_categories: Arc<cases::categories::Cache>,
}

impl AppState {
    pub fn new(db: Db) -> Self {
        AppState {
            writer: cases::intake::writer(db.clone()),
            case_categories: Arc::default(),
            db,
            metrics: Arc::new(Metrics::default()),
            calendar: Arc::new(Calendar::built_in()),
            grid_index: Arc::new(SharedIndex::default()),
            data_dir: Arc::new(PathBuf::from("data")),
            duplicate_rule: (crate::config::DEFAULT_DUPLICATE_METERS, crate::config::DEFAULT_DUPLICATE_HOURS),
            recent_reports: Arc::new(RecentReports::default()),
            open311_limits: Arc::new(RateLimiter::default()),
            public_reports: Arc::default(),
            public_url: Arc::from(format!("http://{}", crate::config::DEFAULT_LISTEN)),
            login_guard: Arc::new(LoginGuard::default()),
            sessions: SessionPolicy::default(),
            proxies: Arc::new(TrustedProxies::default()),
            // Without a token, /metrics on the main port answers this machine only.
            metrics_gate: metrics::Gate {
                token: None,
                local_only: true,
            },
            metrics_on_main: true,
            case_feed: Arc::default(),
            calls: Arc::default(),
            alarm_counters: Arc::default(),
            alarm_locks: Arc::default(),
            alarm_window_minutes: crate::config::DEFAULT_ALARM_WINDOW_MINUTES,
            routing_models: Arc::default(),
        }
    }

    /// The HTTP settings: sessions, trusted proxies, who reads metrics and where. A trusted proxy
    /// that is not an address or network stops the start.
    pub fn with_web(mut self, w: &crate::config::WebSettings) -> anyhow::Result<Self> {
        self.sessions = SessionPolicy {
            idle_ms: w.session_idle_minutes * 60_000,
            max_ms: w.session_hours * 3_600_000,
        };
        self.proxies = Arc::new(
            TrustedProxies::parse(&w.trusted_proxies).map_err(|e| anyhow::anyhow!("GONGZHI_TRUSTED_PROXIES / trusted_proxies: {e}"))?,
        );
        self.metrics_gate = metrics::Gate {
            token: w.metrics_token.as_deref().map(Arc::from),
            local_only: true,
        };
        self.metrics_on_main = w.metrics_listen.is_none();
        Ok(self)
    }

    pub fn with_login_guard(mut self, guard: LoginGuard) -> Self {
        self.login_guard = Arc::new(guard);
        self
    }

    fn accounts(&self) -> AccountsState {
        AccountsState {
            db: self.db.clone(),
            guard: self.login_guard.clone(),
            sessions: self.sessions,
        }
    }

    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Arc::from(url.trim_end_matches('/'));
        self
    }

    pub fn with_duplicate_rule(mut self, meters: f64, hours: i64) -> Self {
        self.duplicate_rule = (meters, hours);
        self
    }

    pub fn with_alarm_window(mut self, minutes: i64) -> Self {
        self.alarm_window_minutes = minutes;
        self
    }

    /// The device alarms' state (the subscriber and the routes share it).
    pub fn alarms(&self) -> alarms::AlarmsState {
        alarms::AlarmsState {
            db: self.db.clone(),
            cases: self.cases(),
            counters: self.alarm_counters.clone(),
            locks: self.alarm_locks.clone(),
            window_ms: self.alarm_window_minutes * 60_000,
            limits: self.open311_limits.clone(),
        }
    }

    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Arc::new(dir.into());
        self
    }

    fn grid(&self) -> grid::GridState {
        grid::GridState {
            db: self.db.clone(),
            grid_index: self.grid_index.clone(),
            // Calls show the node's people with call buttons (first: one click to reach them);
            // the registry shows a building's households.
            panels: Arc::new([
                Arc::new(calls::pages::CallPanel {
                    hub: self.calls.clone(),
                    public_url: self.public_url.clone(),
                }) as Arc<dyn grid::GridPanel>,
                Arc::new(registry::building::Households),
            ]),
            // The registry keeps units; a compound names its property company by id.
            units: Arc::new(registry::units::Directory),
        }
    }

    fn cases(&self) -> cases::CasesState {
        cases::CasesState {
            db: self.db.clone(),
            calendar: self.calendar.clone(),
            grid_index: self.grid_index.clone(),
            data_dir: self.data_dir.clone(),
            duplicate_rule: self.duplicate_rule,
            recent_reports: self.recent_reports.clone(),
            // Closing a case a resident volunteer reported pays their points (随手拍).
            hooks: Arc::new(CaseHooks {
                // A closed council case finishes the resolution it carried.
                on_closed: vec![
                    Arc::new(volunteers::case_points::PayCaseReported),
                    Arc::new(councils::service::FinishResolutions),
                ],
                // Notices and instructions still owed show in the 待办.
                inbox: vec![Arc::new(broadcasts::pages::OwedBroadcasts)],
                // The compound's public page shows its members with their posts (亮身份).
                public: vec![
                    Arc::new(party::pages::PublicPosts),
                    Arc::new(services::sites::pages::PublicSites),
                    Arc::new(frontage::pages::PublicFrontage),
                ],
                // A report without a category is filed (and above the threshold dispatched) by routing.
                router: Some(Arc::new(routing::service::AutoRoute {
                    models: self.routing_models.clone(),
                })),
            }),
            public_reports: self.public_reports.clone(),
            feed: self.case_feed.clone(),
            writer: self.writer.clone(),
            categories: self.case_categories.clone(),
        }
    }
}

/// The whole server: every feature's API and pages, health, metrics and static files.
pub fn router(state: AppState) -> Router {
    let grid = state.grid();
    let registry = registry::RegistryState {
        db: state.db.clone(),
        grid: grid.clone(),
    };
    let cases = state.cases();
    let volunteers = volunteers::VolunteersState {
        db: state.db.clone(),
        writer: state.writer.clone(),
        summaries: Default::default(),
        codes: Default::default(),
    };
    let open311 = open311::Open311State {
        db: state.db.clone(),
        cases: cases.clone(),
        open311_limits: state.open311_limits.clone(),
        public_url: state.public_url.clone(),
        lookups: Arc::default(),
        answers: Arc::default(),
    };
    let accounts = state.accounts();
    let broadcasts = broadcasts::BroadcastsState { db: state.db.clone() };
    let calls = calls::CallsState {
        db: state.db.clone(),
        hub: state.calls.clone(),
        public_url: state.public_url.clone(),
    };
    let councils = councils::CouncilsState {
        db: state.db.clone(),
        cases: cases.clone(),
    };
    let command = command::CommandState {
        db: state.db.clone(),
        feed: state.case_feed.clone(),
        calls: state.calls.clone(),
    };
    let renovation = renovation::RenovationState {
        db: state.db.clone(),
        cases: cases.clone(),
    };
    let decisions = decisions::DecisionsState {
        db: state.db.clone(),
        data_dir: state.data_dir.clone(),
    };
    let stars = stars::StarsState {
        db: state.db.clone(),
        data_dir: state.data_dir.clone(),
    };
    let property = property::PropertyState { db: state.db.clone() };
    let party = party::PartyState { db: state.db.clone() };
    let frontage = frontage::FrontageState { cases: cases.clone() };
    let routing = routing::RoutingState {
        db: state.db.clone(),
        models: state.routing_models.clone(),
    };
    let services = services::ServicesState {
        db: state.db.clone(),
        cases: cases.clone(),
    };
    let alarms = state.alarms();
    let campaigns = campaigns::CampaignsState {
        db: state.db.clone(),
        cases: cases.clone(),
    };
    let ledger_state = ledgers::LedgersState {
        db: state.db.clone(),
        ledgers: ledger_registry(cases.clone(), volunteers.clone(), services.clone()),
    };
    let mut app = Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .merge(accounts::api::routes().with_state(accounts.clone()))
        .merge(grid::api::routes().with_state(grid.clone()))
        .merge(registry::api::routes().with_state(registry.clone()))
        .merge(cases::api::routes().with_state(cases.clone()))
        .merge(volunteers::api::routes().with_state(volunteers.clone()))
        .merge(accounts::pages::routes().with_state(accounts))
        .merge(grid::pages::routes().with_state(grid))
        .merge(registry::pages::routes().with_state(registry))
        .merge(cases::pages::routes().with_state(cases))
        .merge(open311::pages::routes().with_state(open311.clone()))
        .merge(volunteers::pages::routes().with_state(volunteers))
        .merge(open311::routes().with_state(open311))
        .merge(broadcasts::routes().with_state(broadcasts))
        .merge(calls::routes().with_state(calls))
        .merge(councils::routes().with_state(councils))
        .merge(command::routes().with_state(command))
        .merge(renovation::routes().with_state(renovation))
        .merge(decisions::routes().with_state(decisions))
        .merge(stars::routes().with_state(stars))
        .merge(property::routes().with_state(property))
        .merge(party::routes().with_state(party))
        .merge(frontage::routes().with_state(frontage))
        .merge(services::routes().with_state(services))
        .merge(alarms::routes().with_state(alarms))
        .merge(campaigns::routes().with_state(campaigns))
        .merge(routing::routes().with_state(routing))
        .merge(ledgers::routes().with_state(ledger_state))
        .route("/elder", axum::routing::post(web::elder::switch))
        .route("/healthz", get(web::healthz).with_state(state.db.clone()));
    if state.metrics_on_main {
        app = app.route(
            "/metrics",
            get(metrics::serve_text).with_state((state.metrics.clone(), state.metrics_gate.clone())),
        );
    }
    app.route("/static/{file}", get(web::assets::serve))
        .route("/favicon.ico", get(web::assets::favicon))
        .fallback({
            let db = state.db.clone();
            move |req: axum::extract::Request| web::pages::not_found(db.clone(), req)
        })
        // Innermost: the tag is the uncompressed body's.
        .layer(axum::middleware::from_fn(web::etag::conditional))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(CompressionLayer::new())
        .layer(DefaultBodyLimit::max(2 * 1024 * 1024))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        // Axum's own plain-text rejections (413, 405, 408, a bad form) in the one error format.
        .layer(axum::middleware::from_fn(web::extract::one_error_format))
        .layer(CatchPanicLayer::custom(web::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.proxies.clone(), web::client::resolve))
        .layer(TraceLayer::new_for_http())
        // Outermost, so timeouts and caught panics carry the headers too.
        .layer(axum::middleware::map_response(web::security_headers))
}

/// The Excel ledgers (台账) each feature defines, registered here so the kit names no feature.
pub fn ledger_registry(
    cases: cases::CasesState,
    volunteers: volunteers::VolunteersState,
    services: services::ServicesState,
) -> ledgers::Ledgers {
    use registry::ledgers as reg;
    ledgers::Ledgers::new(
        vec![
            Arc::new(reg::Residents),
            Arc::new(reg::Households),
            Arc::new(reg::Units),
            Arc::new(reg::Places),
            Arc::new(reg::Devices),
            Arc::new(cases::ledgers::Cases),
            Arc::new(cases::ledgers::Assessment { cases: cases.clone() }),
            Arc::new(volunteers::ledgers::Volunteers { state: volunteers.clone() }),
            Arc::new(volunteers::ledgers::Activities),
            Arc::new(volunteers::ledgers::Attendance { state: volunteers.clone() }),
            Arc::new(volunteers::ledgers::Points { state: volunteers }),
            Arc::new(services::mediation::ledgers::Disputes),
            Arc::new(services::lists::ledgers::Needs),
            Arc::new(services::lists::ledgers::Resources),
            Arc::new(services::lists::ledgers::Projects),
            Arc::new(services::lists::ledgers::Results),
            Arc::new(services::proxy::ledgers::Matters),
            Arc::new(services::care::ledgers::Due { state: services }),
            Arc::new(party::ledgers::Members),
            Arc::new(alarms::ledgers::Alarms),
            Arc::new(frontage::ledgers::Agreements),
            Arc::new(campaigns::ledgers::Spots),
        ],
        vec![
            Arc::new(reg::ResidentsImport),
            Arc::new(reg::HouseholdsImport),
            Arc::new(reg::UnitsImport),
            Arc::new(reg::DevicesImport),
            Arc::new(cases::ledgers::HotlineImport { cases }),
        ],
    )
}

/// `/metrics` alone, for its own address (`metrics_listen`): open to whoever reaches that
/// address, unless a token is configured.
pub fn metrics_router(state: &AppState) -> Router {
    let gate = metrics::Gate {
        token: state.metrics_gate.token.clone(),
        local_only: false,
    };
    Router::new()
        .route("/metrics", get(metrics::serve_text).with_state((state.metrics.clone(), gate)))
        .layer(axum::middleware::map_response(web::security_headers))
}

/// Serve until Ctrl-C / SIGTERM. Returns the bound address through `on_bound` first.
pub async fn serve(db: Db, s: &crate::config::Settings, on_bound: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let mut state = AppState::new(db.clone())
        .with_data_dir(&s.data_dir)
        .with_duplicate_rule(s.duplicate_meters, s.duplicate_hours)
        .with_alarm_window(s.devices.alarm_window_minutes)
        .with_web(&s.web)?;
    state.calendar = Arc::new(Calendar::with_updates(&s.data_dir.join("calendar"))?);
    let listener = tokio::net::TcpListener::bind(&s.listen).await?;
    let bound = listener.local_addr()?;
    let state = state.with_public_url(s.public_url.as_deref().unwrap_or(&format!("http://{bound}")));
    let metrics = match &s.web.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("metrics_listen {addr}: {e}"))?,
        ),
        None => None,
    };
    on_bound(bound);
    if let Some(m) = &metrics {
        tracing::info!(address = %m.local_addr()?, "metrics served on their own address");
    }
    let opts = ServeOptions {
        header_read_timeout: Duration::from_secs(s.web.header_timeout_secs),
        idle_timeout: Duration::from_secs(s.web.idle_timeout_secs),
        ..ServeOptions::default()
    };
    // The broadcasts' outbox worker runs beside the server and stops with it.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // The MQTT subscriber (设备告警), when a broker is configured, also stops with it.
    let mqtt = match &s.devices.mqtt_url {
        Some(url) => Some(alarms::mqtt::spawn(
            state.alarms(),
            alarms::mqtt::parse_url(url, &s.devices.mqtt_topic_prefix)?,
            stopped.clone(),
        )),
        None => None,
    };
    // A district with closed cases and no routing model gets one, in the background.
    let train_db = db.clone();
    tokio::spawn(async move {
        match routing::service::train_missing(&train_db).await {
            Ok(done) => {
                for t in done {
                    tracing::info!(district = %t.district, examples = t.examples, ms = t.millis as u64, "routing model trained");
                }
            }
            Err(e) => tracing::warn!(error = %e.message, "routing model not trained"),
        }
    });
    let outbox = tokio::spawn(broadcasts::deliver::Outbox::new(db.clone(), broadcasts::deliver::Settings::from_env()?)?.run(stopped));
    let shutdown = async move {
        web::shutdown_signal().await;
        let _ = stop.send(true);
    };
    serve_on(state, listener, metrics, opts, shutdown).await?;
    let _ = outbox.await;
    if let Some(m) = mqtt {
        let _ = m.await;
    }
    db.close().await;
    Ok(())
}

/// Serve the app on `main` (and `/metrics` alone on `metrics`, if given) until `shutdown`.
pub async fn serve_on(
    state: AppState,
    main: tokio::net::TcpListener,
    metrics: Option<tokio::net::TcpListener>,
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop, _) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let side = metrics.map(|l| {
        let app = metrics_router(&state);
        tokio::spawn(web::serve::serve(l, app, opts, stopped(stop.subscribe())))
    });
    let main = web::serve::serve(main, router(state), opts, stopped(stop.subscribe()));
    let signal = async {
        shutdown.await;
        let _ = stop.send(true);
    };
    let (served, ()) = tokio::join!(main, signal);
    if let Some(side) = side {
        side.await.map_err(std::io::Error::other)??;
    }
    served
}

/// The OpenAPI 3.1 document of every feature's JSON API.
#[derive(OpenApi)]
#[openapi(
    info(title = "gongzhi 共治 API", description = "Party-led grassroots governance: grid, registry, accounts. Errors: HTTP status plus {\"error\":{\"code\",\"message\"}}."),
    paths(
        accounts::api::login, accounts::api::logout, accounts::api::me, accounts::api::change_password, accounts::api::create_user, accounts::api::list_audit,
        grid::api::get_grid, grid::api::get_children, grid::api::create_grid, grid::api::update_grid, grid::api::get_layers,
        registry::api::list_residents, registry::api::get_resident, registry::api::create_resident, registry::api::set_tags, registry::api::link_account, registry::api::reveal, registry::api::lookup_resident,
        registry::api::list_households, registry::api::get_household, registry::api::create_household,
        registry::api::list_units, registry::api::create_unit, registry::api::list_places, registry::api::list_devices,
        cases::api::list_categories, cases::api::preview_due, cases::api::report, cases::api::board, cases::api::get_case, cases::api::act, cases::api::assessment, cases::api::upload, cases::api::download, cases::api::merge, cases::api::create_category, cases::api::update_category,
        command::api::dashboard, command::api::events,
        vol::volunteers::list_volunteers, vol::volunteers::get_volunteer, vol::volunteers::get_my_volunteer, vol::volunteers::register_volunteer, vol::volunteers::decide_link, vol::volunteers::list_teams, vol::volunteers::create_team, vol::volunteers::add_member,
        vol::activities::list_activities, vol::activities::create_activity, vol::activities::get_activity, vol::activities::sign_up, vol::activities::check_in, vol::activities::check_out, vol::activities::mark_attendance,
        vol::activities::list_themes, vol::activities::set_theme, vol::points::list_rules, vol::points::update_rule, vol::points::list_transactions, vol::points::correct, vol::points::audit_ledger, vol::points::summary,
        vol::shops::list_shops, vol::shops::create_shop, vol::shops::list_items, vol::shops::create_item, vol::shops::update_item, vol::shops::new_code, vol::shops::redeem,
        calls::api::reachable, calls::api::list_calls, calls::socket::socket,
        broadcasts::api::send, broadcasts::api::list, broadcasts::api::get, broadcasts::api::read, broadcasts::api::ack, broadcasts::api::reply, broadcasts::api::remind, broadcasts::api::list_webhooks, broadcasts::api::put_webhook,
        councils::api::list, councils::api::get, councils::api::appoint, councils::api::dismiss, councils::api::opinions, councils::api::record_opinion, councils::api::opinion, councils::api::answer,
        councils::api::schedule, councils::api::meetings, councils::api::meeting, councils::api::check_in, councils::api::mark_present, councils::api::minutes, councils::api::resolutions, councils::api::resolution_case, councils::api::resolution_done,
        renovation::api::list, renovation::api::create, renovation::api::get, renovation::api::advance, renovation::api::add_plan, renovation::api::publish, renovation::api::upload, renovation::api::download, renovation::api::open_round, renovation::api::close_round, renovation::api::record_view, renovation::api::report,
        decisions::api::preview, decisions::api::register, decisions::api::add_units, decisions::api::list, decisions::api::get, decisions::api::create, decisions::api::open, decisions::api::close, decisions::api::vote, decisions::api::paper, decisions::api::photo,
        stars::api::list, stars::api::get_config, stars::api::save_config, stars::api::card, stars::api::assess, stars::api::submit, stars::api::review, stars::api::rate, stars::api::upload, stars::api::download,
        property::api::coverage, property::api::three_nos, property::api::update_compound, property::api::add_step, property::api::evaluations, property::api::publish, property::api::tasks, property::api::submit,
        property::api::corrections, property::api::finish_correction, property::api::settings, property::api::save_settings, property::api::enter_fee, property::api::fee_trend, property::api::fees_below,
        party::api::list_orgs, party::api::create_org, party::api::get_org, party::api::list_members, party::api::create_member, party::api::get_member, party::api::report_in, party::api::assign,
        party::api::take_post, party::api::set_consent, party::api::add_service, party::api::me, party::api::list_models, party::api::nominate, party::api::review, party::api::publish,
        services::care::api::due, services::care::api::record, services::care::api::schedules, services::care::api::save_schedule,
        services::lists::api::needs, services::lists::api::resources, services::lists::api::projects, services::lists::api::results, services::sites::api::sites, services::sites::api::book,
        services::proxy::api::kinds, services::proxy::api::save_kind, services::proxy::api::list, services::proxy::api::watch, services::proxy::api::create, services::proxy::api::get_one,
        services::proxy::api::take, services::proxy::api::add_step, services::proxy::api::hand_over, services::proxy::api::confirm, services::proxy::api::give_back, services::proxy::api::finish, services::proxy::api::rate,
        services::mediation::api::list, services::mediation::api::create, services::mediation::api::get_one, services::mediation::api::add_session, services::mediation::api::decide, services::mediation::api::follow_up, services::mediation::api::counts,
        alarms::api::post_alarm, alarms::api::post_heartbeat, alarms::api::overview, alarms::api::get_settings, alarms::api::put_settings,
        campaigns::api::list, campaigns::api::launch, campaigns::api::get_one, campaigns::api::add_team, campaigns::api::upload, campaigns::api::spots, campaigns::api::add_spot, campaigns::api::act, campaigns::api::inspect, campaigns::api::inspections, campaigns::api::inspection,
        routing::api::suggest, routing::api::get_settings, routing::api::put_settings,
        ledgers::api::export, ledgers::api::template, ledgers::api::import,
        frontage::api::list, frontage::api::create, frontage::api::get_one, frontage::api::check, frontage::api::compliance,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "grid"), (name = "registry"), (name = "cases"), (name = "volunteers"), (name = "points"), (name = "shops"), (name = "command"), (name = "calls"), (name = "broadcasts"), (name = "councils"), (name = "renovation"), (name = "decisions"), (name = "party"), (name = "frontage"), (name = "property"), (name = "stars"), (name = "services"), (name = "alarms"), (name = "campaigns"), (name = "routing"), (name = "ledgers"))
)]
pub struct ApiDoc;

async fn openapi_json() -> crate::web::extract::Json<utoipa::openapi::OpenApi> {
    crate::web::extract::Json(ApiDoc::openapi())
}
