//! Photos through the private Apache, as CGI and FastCGI: uploads by the
//! Micropub media endpoint, a multipart create and the compose form; what
//! comes out (`exiftool` finds no EXIF, GPS or comment left, the EXIF
//! orientation is in the pixels, an animated GIF stays animated); where it
//! shows (post page, h-entry, the three feeds, the ActivityPub Note); the
//! files going with their post; and hostile files refused with a clear
//! message and nothing kept.
//!
//! The images are made here with the `image` and `gif` crates roost builds
//! anyway, the metadata spliced in by hand.

mod common;

use common::apache::{Kind, Site, apache};
use common::http::HttpResponse;
use common::indieauth::{json, login, token};
use common::process::hidden_csrf;
use common::unique;
use std::io::Cursor;
use std::process::Command;

fn site(label: &str, kind: Kind) -> Site {
    apache().roost_site(&unique(label), kind)
}

/// `site` with publishing into its document-root directory.
fn publishing_site(label: &str) -> Site {
    let site = site(label, Kind::Cgi);
    common::chown_to_cgi_user(&site.dir);
    site.cli_ok(&["config", "publish_dir", site.dir.to_str().unwrap()]);
    site
}

// ---- images made here -------------------------------------------------

/// A 64 × 32 JPEG, left half red, right half blue, whose EXIF says "turn
/// 90° clockwise to show" (orientation 6) and carries a GPS position, plus
/// a JPEG comment.
fn jpeg_with_exif() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 32, |x, _| {
        if x < 32 {
            image::Rgb([230, 20, 20])
        } else {
            image::Rgb([20, 20, 230])
        }
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95)
        .encode_image(&image)
        .unwrap();
    splice_after_soi(&plain, &[app1_exif(), comment(b"secret camera comment")])
}

/// EXIF (big-endian TIFF): IFD0 with Orientation = 6 and a GPS IFD with
/// GPSVersionID and GPSLatitudeRef = N.
fn app1_exif() -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    // IFD0 at 8: two entries, then next-IFD 0; the GPS IFD right after (8 + 2 + 24 + 4 = 38).
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0x00, 0x00, 0, 1, 0, 0, 0, 4, 2, 2, 0, 0]);
    tiff.extend_from_slice(&[0x00, 0x01, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    segment(0xE1, &payload)
}

fn comment(text: &[u8]) -> Vec<u8> {
    segment(0xFE, text)
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let length = (payload.len() + 2) as u16;
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn splice_after_soi(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for s in segments {
        out.extend_from_slice(s);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A small PNG with a transparent corner and a tEXt comment.
fn png_with_text() -> Vec<u8> {
    let image = image::RgbaImage::from_fn(40, 30, |x, y| {
        if x < 10 && y < 10 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([10, 160, 60, 255])
        }
    });
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let iend = png.len() - 12;
    let mut out = png[..iend].to_vec();
    out.extend_from_slice(&png_chunk(b"tEXt", b"Comment\0secret png comment"));
    out.extend_from_slice(&png[iend..]);
    out
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// An animated GIF of `frames` frames of `side` px, with a comment extension.
fn gif(frames: usize, side: u16) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let palette = [255, 0, 0, 0, 0, 255];
        let mut encoder = gif::Encoder::new(&mut out, side, side, &palette).unwrap();
        encoder.set_repeat(gif::Repeat::Infinite).unwrap();
        encoder
            .write_raw_extension(gif::AnyExtension(0xFE), &[b"secret gif comment"])
            .unwrap();
        for index in 0..frames {
            let pixels = vec![(index % 2) as u8; usize::from(side) * usize::from(side)];
            let mut frame = gif::Frame::from_indexed_pixels(side, side, pixels, None);
            frame.delay = 10;
            encoder.write_frame(&frame).unwrap();
        }
    }
    out
}

fn webp() -> Vec<u8> {
    let image = image::RgbaImage::from_pixel(20, 10, image::Rgba([200, 100, 0, 255]));
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(image.as_raw(), 20, 10, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// A PNG whose header says 10,000 × 10,000 with a few KB of zeros behind
/// it: a decompression bomb (400 MB once decoded).
fn png_bomb() -> Vec<u8> {
    use std::io::Write;
    let (width, height) = (10_000u32, 10_000u32);
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; 1 + width as usize * 4];
    for _ in 0..200 {
        deflate.write_all(&row).unwrap();
    }
    let idat = deflate.finish().unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    out.extend_from_slice(&png_chunk(b"IDAT", &idat));
    out.extend_from_slice(&png_chunk(b"IEND", b""));
    out
}

/// A small JPEG whose frame header says 20,000 × 20,000.
fn huge_jpeg() -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode_image(&image::RgbImage::new(16, 16))
        .unwrap();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&20_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&20_000u16.to_be_bytes());
    jpeg
}

fn heic() -> Vec<u8> {
    let mut out = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    out.extend_from_slice(&[0u8; 64]);
    out
}

// ---- requests -----------------------------------------------------------

/// One part of a multipart body: name, file name (for a file), bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "----roostTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                     Content-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post_multipart(
    site: &Site,
    path: &str,
    headers: &[(&str, &str)],
    parts: &[Part],
) -> HttpResponse {
    let (content_type, body) = multipart(parts);
    let mut headers = headers.to_vec();
    headers.push(("Content-Type", &content_type));
    site.send("POST", path, &headers, Some(&body))
}

/// Uploads `bytes` to the media endpoint with `bearer`.
fn upload(site: &Site, bearer: &str, name: &str, bytes: &[u8]) -> HttpResponse {
    post_multipart(
        site,
        "/micropub/media",
        &[("Authorization", bearer)],
        &[("file", Some(name), bytes)],
    )
}

/// The site-relative path of an absolute URL of `site`.
fn path_of<'a>(site: &Site, url: &'a str) -> &'a str {
    url.strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{url} is not on {}", site.base_url()))
}

fn media_bearer(site: &Site) -> String {
    let cookie = login(site);
    format!("Bearer {}", token(site, &cookie, "create delete media"))
}

/// What exiftool reads in `bytes`: its JSON, tags grouped (`-G`).
fn exiftool(bytes: &[u8]) -> serde_json::Value {
    let dir = std::env::temp_dir().join(unique("exif"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("photo");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("exiftool")
        .args(["-j", "-G", "-a", "-u"])
        .arg(&file)
        .output()
        .expect("exiftool (Debian's libimage-exiftool-perl; scripts/setup installs it)");
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

/// The metadata exiftool finds that a published file must not carry.
fn private_tags(tags: &serde_json::Value) -> Vec<String> {
    tags.as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| {
            key.starts_with("EXIF:")
                || key.contains("GPS")
                || key.ends_with(":Comment")
                || key.starts_with("XMP")
                || key.starts_with("IPTC")
        })
        .map(|(key, value)| format!("{key}={value}"))
        .collect()
}

/// How many files the data directory keeps, and how many upload rows.
fn kept(site: &Site) -> (usize, i64) {
    let files = std::fs::read_dir(site.home.join("media"))
        .map(|d| d.count())
        .unwrap_or(0);
    let rows = rusqlite::Connection::open(site.home.join("roost.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM media", [], |r| r.get(0))
        .unwrap();
    (files, rows)
}

fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

// ---- tests --------------------------------------------------------------

#[test]
fn an_uploaded_jpeg_loses_its_exif_gps_and_comment_and_is_turned_upright() {
    let site = publishing_site("media-jpeg");
    let original = jpeg_with_exif();
    // The fixture really carries what must go.
    let before = private_tags(&exiftool(&original));
    assert!(before.iter().any(|t| t.contains("GPS")), "{before:?}");
    assert!(
        before.iter().any(|t| t.contains("Orientation")),
        "{before:?}"
    );
    assert!(before.iter().any(|t| t.contains("Comment")), "{before:?}");

    let bearer = media_bearer(&site);
    let answer = upload(&site, &bearer, "IMG_0001.JPG", &original);
    assert_eq!(answer.status, 201, "{answer:?}");
    let location = answer.header("Location").unwrap().to_string();
    assert!(location.starts_with(&site.url("/media/")), "{location}");
    assert!(location.ends_with(".jpg"), "{location}");

    // Published: Apache serves the file from the document root, cached long.
    let name = location.rsplit('/').next().unwrap();
    let published = std::fs::read(site.dir.join("media").join(name)).unwrap();
    let served = site.get(path_of(&site, &location), &[]);
    assert_eq!(served.status, 200, "{served:?}");
    assert_eq!(served.mime().as_deref(), Some("image/jpeg"));
    assert_eq!(served.body, published);
    let cache = served.header("Cache-Control").unwrap_or("");
    assert!(cache.contains("max-age=31536000"), "{served:?}");

    let left = private_tags(&exiftool(&published));
    assert!(
        left.is_empty(),
        "metadata left on the published file: {left:?}"
    );

    // Orientation 6 applied: 64 × 32 became 32 × 64, the red left half now on top.
    let pixels = decode(&published).to_rgb8();
    assert_eq!(pixels.dimensions(), (32, 64));
    let top = pixels.get_pixel(16, 8).0;
    let bottom = pixels.get_pixel(16, 56).0;
    assert!(top[0] > 150 && top[2] < 100, "top is red: {top:?}");
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "bottom is blue: {bottom:?}"
    );
}

#[test]
fn png_gif_and_webp_are_taken_and_an_animation_stays_animated() {
    let site = site("media-kinds", Kind::Cgi);
    let bearer = media_bearer(&site);

    let png = upload(&site, &bearer, "a.png", &png_with_text());
    assert_eq!(png.status, 201, "{png:?}");
    let location = png.header("Location").unwrap();
    assert!(
        location.ends_with(".png"),
        "transparency keeps PNG: {location}"
    );
    // Publishing is off: roost itself serves the kept file.
    let served = site.get(path_of(&site, location), &[]);
    assert_eq!(served.status, 200, "{served:?}");
    assert_eq!(served.mime().as_deref(), Some("image/png"));
    assert!(
        served
            .header("Cache-Control")
            .unwrap()
            .contains("immutable")
    );
    assert!(!String::from_utf8_lossy(&served.body).contains("secret"));
    assert_eq!(decode(&served.body).to_rgba8().get_pixel(2, 2).0[3], 0);

    let animated = gif(3, 16);
    let gif_answer = upload(&site, &bearer, "a.gif", &animated);
    assert_eq!(gif_answer.status, 201, "{gif_answer:?}");
    let location = gif_answer.header("Location").unwrap();
    assert!(location.ends_with(".gif"), "{location}");
    let served = site.get(path_of(&site, location), &[]).body;
    assert!(!String::from_utf8_lossy(&served).contains("secret"));
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(&served[..]).unwrap();
    let mut frames = 0;
    while decoder.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 3, "the animation keeps its frames");
    assert_eq!(decoder.repeat(), gif::Repeat::Infinite);
    assert!(private_tags(&exiftool(&served)).is_empty());

    let webp_answer = upload(&site, &bearer, "a.webp", &webp());
    assert_eq!(webp_answer.status, 201, "{webp_answer:?}");
    assert!(webp_answer.header("Location").unwrap().ends_with(".jpg"));
}

#[test]
fn hostile_files_are_refused_with_a_reason_and_nothing_is_kept() {
    let site = site("media-hostile", Kind::Cgi);
    let bearer = media_bearer(&site);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("bomb.png", png_bomb(), 413, "10000 × 10000 pixels"),
        ("huge.jpg", huge_jpeg(), 413, "20000 × 20000 pixels"),
        ("long.gif", gif(10_000, 1), 413, "more than 1000 frames"),
        (
            "photo.jpg",
            b"#!/bin/sh\necho not a photo\n".to_vec(),
            415,
            "not a JPEG, PNG, GIF or WebP",
        ),
        ("IMG_1.HEIC", heic(), 415, "HEIC"),
        (
            "cut.jpg",
            jpeg_with_exif()[..300].to_vec(),
            400,
            "could not be read",
        ),
    ];
    for (name, bytes, status, says) in cases {
        let started = std::time::Instant::now();
        let answer = upload(&site, &bearer, name, &bytes);
        assert_eq!(answer.status, status, "{name}: {answer:?}");
        let error = json(&answer);
        assert_eq!(error["error"], "invalid_request", "{name}: {error}");
        let description = error["error_description"].as_str().unwrap();
        assert!(description.contains(says), "{name}: {description}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name} took {:?}",
            started.elapsed()
        );
        assert_eq!(kept(&site), (0, 0), "{name}: nothing kept");
    }
    // A PNG named .jpg and sent as image/jpeg is taken as the PNG it is.
    let lying = upload(&site, &bearer, "really.jpg", &png_with_text());
    assert_eq!(lying.status, 201, "{lying:?}");
    assert!(lying.header("Location").unwrap().ends_with(".png"));

    // A form of text alone keeps the usual limit on the photo routes.
    let long = format!("h=entry&content={}", "a".repeat(100 * 1024));
    let answer = site.post_form("/micropub", &long, &[("Authorization", bearer.as_str())]);
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(json(&answer)["error"], "invalid_request");

    // Over the size cap (1 MB here): 413 before any decoding.
    site.cli_ok(&["config", "media_max_mb", "1"]);
    let mut big = jpeg_with_exif();
    big.extend(std::iter::repeat_n(0u8, 1_100_000));
    let answer = upload(&site, &bearer, "big.jpg", &big);
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(
        json(&answer)["error_description"]
            .as_str()
            .unwrap()
            .contains("1 MB")
    );
}

#[test]
fn the_media_endpoint_needs_the_media_scope_and_is_in_the_config() {
    let site = site("media-scope", Kind::Cgi);
    let cookie = login(&site);
    let create_only = format!("Bearer {}", token(&site, &cookie, "create"));
    let refused = upload(&site, &create_only, "a.jpg", &jpeg_with_exif());
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(json(&refused)["error"], "insufficient_scope");
    assert_eq!(json(&refused)["scope"], "media");
    let none = upload(&site, "", "a.jpg", &jpeg_with_exif());
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(kept(&site), (0, 0));
    let config = site.get(
        "/micropub?q=config",
        &[("Authorization", create_only.as_str())],
    );
    assert_eq!(
        json(&config)["media-endpoint"],
        site.url("/micropub/media"),
        "{config:?}"
    );
}

#[test]
fn a_photo_post_shows_everywhere_and_its_files_go_with_it() {
    let site = publishing_site("media-shown");
    let bearer = media_bearer(&site);
    let uploaded = upload(&site, &bearer, "a.jpg", &jpeg_with_exif());
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    let photo_url = uploaded.header("Location").unwrap().to_string();
    let text = unique("A photo by Micropub");
    let alt = "A red square above a blue one";
    let created = site.send(
        "POST",
        "/micropub",
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        Some(
            serde_json::json!({
                "type": ["h-entry"],
                "properties": {
                    "content": [text],
                    "photo": [{"value": photo_url, "alt": alt}],
                }
            })
            .to_string()
            .as_bytes(),
        ),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let permalink = created.header("Location").unwrap().to_string();
    let post_path = path_of(&site, &permalink).to_string();

    let page = site.get(&post_path, &[]).text();
    let photo_path = site.path(path_of(&site, &photo_url));
    assert!(
        page.contains(&format!(
            "class=\"u-photo\" src=\"{photo_path}\" alt=\"{alt}\" width=\"32\" height=\"64\""
        )),
        "{page}"
    );
    assert!(page.contains("srcset="), "{page}");
    let home = site.get("/", &[]).text();
    assert!(home.contains(&photo_path), "{home}");

    let atom = site.get("/feed.atom", &[]).text();
    assert!(
        atom.contains(&format!(
            "rel=\"enclosure\" type=\"image/jpeg\" href=\"{photo_url}\""
        )),
        "{atom}"
    );
    let rss = site.get("/feed.rss", &[]).text();
    assert!(
        rss.contains(&format!("<enclosure url=\"{photo_url}\"")),
        "{rss}"
    );
    assert!(
        rss.contains(&format!("<media:content url=\"{photo_url}\"")),
        "{rss}"
    );
    assert!(rss.contains(alt), "{rss}");
    let feed: serde_json::Value =
        serde_json::from_slice(&site.get("/feed.json", &[]).body).unwrap();
    let item = &feed["items"][0];
    assert_eq!(item["image"], photo_url.as_str(), "{item}");
    assert_eq!(item["attachments"][0]["url"], photo_url.as_str(), "{item}");
    assert_eq!(item["attachments"][0]["mime_type"], "image/jpeg", "{item}");
    assert_eq!(item["attachments"][0]["title"], alt, "{item}");
    let note = site.get(&post_path, &[("Accept", "application/activity+json")]);
    let note: serde_json::Value = serde_json::from_slice(&note.body).unwrap();
    assert_eq!(note["attachment"][0]["type"], "Image", "{note}");
    assert_eq!(note["attachment"][0]["mediaType"], "image/jpeg", "{note}");
    assert_eq!(note["attachment"][0]["url"], photo_url.as_str(), "{note}");
    assert_eq!(note["attachment"][0]["name"], alt, "{note}");

    let source = site.get(
        &format!(
            "/micropub?q=source&url={}",
            common::http::percent_encode(&permalink)
        ),
        &[("Authorization", bearer.as_str())],
    );
    assert_eq!(
        json(&source)["properties"]["photo"],
        serde_json::json!([{"value": photo_url, "alt": alt}]),
        "{source:?}"
    );

    // Deleted: the post's files leave the data directory and the document root.
    let name = photo_url.rsplit('/').next().unwrap();
    assert!(site.dir.join("media").join(name).exists());
    let deleted = site.post_form(
        "/micropub",
        &common::http::form_encode(&[("action", "delete"), ("url", &permalink)]),
        &[("Authorization", bearer.as_str())],
    );
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert!(!site.dir.join("media").join(name).exists());
    assert!(!site.home.join("media").join(name).exists());
    assert_eq!(kept(&site), (0, 0));
    assert_eq!(site.get(path_of(&site, &photo_url), &[]).status, 404);
}

#[test]
fn a_photo_at_another_address_is_refused_and_nothing_is_posted() {
    let site = site("media-elsewhere", Kind::Cgi);
    let bearer = media_bearer(&site);
    let text = unique("must not appear");
    let answer = site.post_form(
        "/micropub",
        &common::http::form_encode(&[
            ("h", "entry"),
            ("content", &text),
            ("photo", "https://elsewhere.example/p.jpg"),
        ]),
        &[("Authorization", bearer.as_str())],
    );
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(
        json(&answer)["error_description"]
            .as_str()
            .unwrap()
            .contains("media endpoint")
    );
    assert!(!site.get("/", &[]).text().contains(&text));
}

#[test]
fn a_multipart_create_posts_its_photo_files_under_cgi_and_fastcgi() {
    for kind in [Kind::Cgi, Kind::Fcgid] {
        let site = site("media-multipart", kind);
        let bearer = media_bearer(&site);
        let text = unique("Multipart with a photo");
        let answer = post_multipart(
            &site,
            "/micropub",
            &[("Authorization", bearer.as_str())],
            &[
                ("h", None, b"entry"),
                ("content", None, text.as_bytes()),
                ("photo", Some("one.jpg"), &jpeg_with_exif()),
                ("photo", Some("two.png"), &png_with_text()),
            ],
        );
        assert_eq!(answer.status, 201, "{kind:?}: {answer:?}");
        let post_path = path_of(&site, answer.header("Location").unwrap()).to_string();
        let page = site.get(&post_path, &[]).text();
        assert_eq!(page.matches("class=\"u-photo\"").count(), 2, "{page}");
        assert!(page.contains(".jpg") && page.contains(".png"), "{page}");
        assert_eq!(kept(&site).1, 2);
    }
}

#[test]
fn the_compose_form_attaches_photos_with_their_alt_text() {
    let site = publishing_site("media-compose");
    let cookie = login(&site);
    let home = site.get("/", &[("Cookie", cookie.as_str())]).text();
    assert!(home.contains("enctype=\"multipart/form-data\""), "{home}");
    assert!(home.contains("type=\"file\" name=\"photo_1\""), "{home}");
    let csrf = hidden_csrf(&home);
    let text = unique("Two photos from the form");
    let posted = post_multipart(
        &site,
        "/posts",
        &[("Cookie", cookie.as_str())],
        &[
            ("csrf", None, csrf.as_bytes()),
            ("text", None, text.as_bytes()),
            ("reply_to", None, b""),
            ("photo_1", Some("a.jpg"), &jpeg_with_exif()),
            ("alt_1", None, b"Red over blue"),
            ("photo_2", Some(""), b""),
            ("alt_2", None, b""),
            ("photo_3", Some("c.gif"), &gif(2, 8)),
            ("alt_3", None, b"A blinking square"),
        ],
    );
    assert_eq!(posted.status, 303, "{posted:?}");
    let page = site.get("/", &[]).text();
    assert!(page.contains(&text), "{page}");
    assert!(page.contains("alt=\"Red over blue\""), "{page}");
    assert!(page.contains("alt=\"A blinking square\""), "{page}");
    assert_eq!(kept(&site).1, 2);

    // A refused file posts nothing and says why, the text kept in the form.
    let refused = post_multipart(
        &site,
        "/posts",
        &[("Cookie", cookie.as_str())],
        &[
            ("csrf", None, csrf.as_bytes()),
            ("text", None, b"with a HEIC"),
            ("photo_1", Some("x.heic"), &heic()),
        ],
    );
    assert_eq!(refused.status, 415, "{refused:?}");
    let body = refused.text();
    assert!(
        body.contains("HEIC") && body.contains("with a HEIC"),
        "{body}"
    );
    assert_eq!(kept(&site).1, 2);

    // Without the CSRF token: 403, nothing kept.
    let forged = post_multipart(
        &site,
        "/posts",
        &[("Cookie", cookie.as_str())],
        &[
            ("text", None, b"forged"),
            ("photo_1", Some("a.jpg"), &png_with_text()),
        ],
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert_eq!(kept(&site).1, 2);
}

#[test]
fn an_independent_client_uploads_a_photo_with_alt_text_under_cgi_and_fastcgi() {
    for kind in [Kind::Cgi, Kind::Fcgid] {
        let site = site("media-client", kind);
        let cookie = login(&site);
        let dir = std::env::temp_dir().join(unique("media-client"));
        std::fs::create_dir_all(&dir).unwrap();
        let photo = dir.join("photo.jpg");
        std::fs::write(&photo, jpeg_with_exif()).unwrap();
        let text = unique("From the independent client");
        let out = common::python::run_script(
            "micropub_client.py",
            [
                site.base_url().as_str(),
                cookie.as_str(),
                text.as_str(),
                photo.to_str().unwrap(),
            ],
        );
        std::fs::remove_dir_all(&dir).ok();
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let photos = &report["photos"];
        assert_eq!(report["token"]["scope"], "create media profile", "{report}");
        assert_eq!(photos["upload"]["status"], 201, "{report}");
        let location = photos["upload"]["location"].as_str().unwrap();
        assert!(location.starts_with(&site.url("/media/")), "{report}");
        assert_eq!(photos["with_alt"]["status"], 201, "{report}");
        assert_eq!(photos["with_alt"]["mf2"][0]["value"], location, "{report}");
        assert_eq!(
            photos["with_alt"]["mf2"][0]["alt"], "A photo posted by an independent client",
            "{report}"
        );
        assert_eq!(photos["multipart"]["status"], 201, "{report}");
        assert_eq!(
            photos["multipart"]["mf2"].as_array().unwrap().len(),
            1,
            "{report}"
        );
    }
}
