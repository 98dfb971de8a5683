//! The throwaway PostgreSQL server the store tests run against
//! (support::postgres): each test gets a database of its own, and a server that
//! is stopped or restarted keeps its data and its port.

use std::net::TcpStream;

use crate::support::postgres::{cluster, private_cluster};

const PUBLIC_TABLES: &str =
    "select count(*) from information_schema.tables where table_schema = 'public'";

#[test]
fn each_database_is_new_and_empty() {
    let Some(pg) = cluster() else { return };
    let first = pg.database();
    let second = pg.database();
    assert_ne!(first.name, second.name);
    assert_eq!(pg.psql(&first.name, PUBLIC_TABLES), "0");
    assert_eq!(pg.psql(&second.name, PUBLIC_TABLES), "0");

    pg.psql(&first.name, "create table requests (id bigint primary key)");

    assert_eq!(pg.psql(&first.name, PUBLIC_TABLES), "1");
    assert_eq!(pg.psql(&second.name, PUBLIC_TABLES), "0");
}

#[test]
fn a_database_url_names_the_server_and_the_database() {
    let Some(pg) = cluster() else { return };
    let db = pg.database();
    assert_eq!(
        db.url,
        format!("postgres://gate@127.0.0.1:{}/{}", pg.port(), db.name)
    );
    assert_eq!(pg.url_for(&db.name), db.url);
    assert_eq!(pg.psql(&db.name, "select current_database()"), db.name);
    assert!(
        pg.socket_dir()
            .join(format!(".s.PGSQL.{}", pg.port()))
            .exists()
    );
}

#[test]
fn a_restarted_server_keeps_its_data_and_answers_on_the_same_port() {
    let Some(pg) = private_cluster() else { return };
    let db = pg.database();
    pg.psql(
        &db.name,
        "create table decisions (verdict text); insert into decisions values ('approved')",
    );
    let port = pg.port();

    pg.restart();

    assert_eq!(pg.port(), port);
    assert_eq!(
        pg.psql(&db.name, "select verdict from decisions"),
        "approved"
    );
}

#[test]
fn a_stopped_server_refuses_connections_until_it_is_started() {
    let Some(pg) = private_cluster() else { return };
    let address = ("127.0.0.1", pg.port());

    pg.stop();
    assert!(TcpStream::connect(address).is_err());

    pg.start();
    assert!(TcpStream::connect(address).is_ok());
    assert_eq!(pg.psql("postgres", "select 1"), "1");
}
