//! `GET /search?q=&page=`: the owner searches everything the node holds,
//! a visitor the owner's own posts (`search::Searcher`).

use super::app::Ctx;
use super::http::Response;
use crate::render;
use crate::search::{self, Query, Searcher};
use anyhow::Result;

/// The longest query taken.
const MAX_QUERY_CHARS: usize = 500;

pub fn page(ctx: &mut Ctx) -> Result<Response> {
    let query_text = ctx.req.query_param("q").unwrap_or_default();
    if query_text.chars().count() > MAX_QUERY_CHARS {
        return Ok(ctx.error(
            400,
            &format!("A search is at most {MAX_QUERY_CHARS} characters."),
        ));
    }
    let page_no = match ctx.req.query_param("page") {
        None => 0,
        Some(p) => match p.parse::<usize>() {
            Ok(n) if n < 1000 => n,
            _ => return Ok(ctx.error(400, "The page number must be a whole number under 1000.")),
        },
    };
    let searcher = match ctx.session {
        Some(_) => Searcher::Owner,
        None => Searcher::Visitor,
    };
    let query = Query::parse(&query_text);
    let (results, more) = search::run(ctx.conn, &query, searcher, page_no, ctx.now)?;
    let catching_up = crate::store::search::catching_up(ctx.conn)?;
    let body = render::search::page(
        &ctx.page("Search"),
        &render::search::Shown {
            query: &query_text,
            results: &results,
            page_no,
            more,
            ignored: &query.ignored,
            catching_up,
        },
    );
    // Results change with every write and differ for the owner: not kept.
    Ok(Response::html(200, body).with_header("Cache-Control", "no-store"))
}
