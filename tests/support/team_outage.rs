//! The outage every team history backend must survive, end to end: saves while the database
//! server is down are written to history files at once, the editor is told once, search says why
//! it cannot answer, everything else keeps working, and once the server is back the waiting saves
//! arrive without a restart.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Client, Sandbox, TIMEOUT, falkor, history_files, pg, uri};

/// A database server a test can stop and start again on the same address.
pub trait StoppableServer {
    fn stop(&mut self);
    fn resume(&mut self) -> Result<(), String>;
}

impl StoppableServer for pg::Cluster {
    fn stop(&mut self) {
        pg::Cluster::stop(self)
    }
    fn resume(&mut self) -> Result<(), String> {
        pg::Cluster::resume(self)
    }
}

impl StoppableServer for falkor::Server {
    fn stop(&mut self) {
        falkor::Server::stop(self)
    }
    fn resume(&mut self) -> Result<(), String> {
        falkor::Server::resume(self)
    }
}

/// Saves one composition three times around an outage of `server` (stopped after the first
/// save, started again after the third) on `client`, a server of `home` on a team backend, and
/// checks what the user sees. Returns the composition's history file; callers check their
/// backend's own rows.
pub fn saves_survive_an_outage(
    client: &mut Client,
    home: &Sandbox,
    server: &mut impl StoppableServer,
) -> PathBuf {
    let doc = uri(&home.workspace().join("outage.prompt.md"));
    client.open(&doc, "");
    client.save(&doc, 2, "first draft of the quokka plan\n");
    client.history_search_until("quokka", |r| r.len() == 1);

    server.stop();
    client.save(&doc, 3, "second draft of the quokka plan\n");
    client.save(&doc, 4, "third draft of the quokka plan, final\n");
    let file = history_files(home).pop().expect("a history file");
    let deadline = Instant::now() + TIMEOUT;
    while !std::fs::read_to_string(&file).unwrap().contains("final") {
        assert!(Instant::now() < deadline, "history file never written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let warning = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("team history unreachable"))
    });
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("nothing is lost"),
        "{warning}"
    );
    let err = client
        .history_command("promptstack.history.search", json!({ "query": "quokka" }))
        .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("team history unreachable: "),
        "{err}"
    );
    let symbols = client.request("workspace/symbol", json!({ "query": "" }));
    assert!(symbols.is_ok(), "other requests keep working: {symbols:?}");

    server.resume().expect("restart the server");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let found =
            client.history_command("promptstack.history.search", json!({ "query": "final" }));
        if found.is_ok_and(|f| f["results"].as_array().is_some_and(|r| r.len() == 1)) {
            break;
        }
        assert!(Instant::now() < deadline, "the waiting saves never arrived");
        std::thread::sleep(Duration::from_millis(100));
    }
    file
}
