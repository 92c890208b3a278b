//! The web side: every way a request arrives, the route table, and the handlers.

pub mod actions;
pub mod app;
pub mod auth;
pub mod fastcgi;
pub mod first_run;
pub mod gateway;
pub mod http;
pub mod intake;
pub mod multipart;
pub mod page_cache;
pub mod pages;
pub mod search_page;
pub mod settings_page;
pub mod setup;
