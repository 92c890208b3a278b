//! Photos: an upload's bytes made into the files a post shows. The type is
//! sniffed from the magic bytes (never the name or the Content-Type), the
//! dimensions read from the header before anything is decoded, and what
//! would take more than `DECODED_BUDGET` to decode is refused, as are HEIC
//! and AVIF (with a message saying what to send instead). The pixels are
//! then re-encoded, so EXIF (GPS included), XMP, IPTC and comments are gone;
//! the EXIF orientation is applied to the pixels first. Two renditions come
//! out: a display size (at most `DISPLAY_MAX` px a side) and a thumbnail (at
//! most `THUMB_MAX`). An animated GIF stays animated (`gif`).
//!
//! Pure: bytes in, bytes out. Storing and publishing the files is `files`';
//! the rows are `store::media`'s.

mod decode;
pub mod files;
mod gif;
mod pixels;
pub mod upload;

pub use upload::{name_in_url, upload};

use pixels::Pixels;

/// The most memory one decoded image may take (pixels × 4 bytes, the
/// widest pixel roost decodes to): a 16-megapixel photo fits, a
/// 20,000 × 20,000 one (1.6 GB) is refused before decoding.
pub const DECODED_BUDGET: u64 = 64 * 1024 * 1024;

/// The largest `media_max_mb` setting: the media routes take bodies of
/// `BODY_LIMIT`, which holds one such file and a form around it.
pub const MAX_UPLOAD_MB: u64 = 30;

/// The body limit of the routes that take photos (`web::app::ROUTES`).
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The longest side of the display rendition.
pub const DISPLAY_MAX: u32 = 1600;

/// The longest side of the thumbnail.
pub const THUMB_MAX: u32 = 400;

/// JPEG quality of both renditions: photos stay clean at a third of the size.
const JPEG_QUALITY: u8 = 82;

/// The formats roost takes in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
}

/// Why an upload was refused: a status for the answer and a message saying
/// what to do. Nothing is stored when this comes back.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    fn unreadable(format: Format, error: impl std::fmt::Display) -> Refusal {
        Refusal::new(
            400,
            format!(
                "The {format:?} file could not be read ({error}); send it again or as another format."
            ),
        )
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One file made from an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// `image/jpeg`, `image/png` or `image/gif`.
    pub mime: &'static str,
}

impl Rendition {
    /// The file's extension, by its type.
    pub fn extension(&self) -> &'static str {
        extension_of(self.mime)
    }
}

/// The extension a published file of this type gets.
pub fn extension_of(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/gif" => "gif",
        _ => "jpg",
    }
}

/// What an upload becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    pub display: Rendition,
    pub thumb: Rendition,
}

/// The type from the first bytes, or why the file cannot be taken.
pub fn sniff(bytes: &[u8]) -> Result<Format, Refusal> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok(Format::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(Format::Webp);
    }
    // ISO base media (HEIF, AVIF): a box of type `ftyp` first, then its brand.
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        if [b"avif", b"avis"].iter().any(|b| brand == *b) {
            return Err(Refusal::new(
                415,
                "AVIF images are not taken here: export the photo as JPEG (or PNG) and send that.",
            ));
        }
        if [
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
        ]
        .iter()
        .any(|b| brand == *b)
        {
            return Err(Refusal::new(
                415,
                "HEIC photos (the iPhone's default) are not taken here: choose \"Most Compatible\" \
                 in the camera's formats, or export the photo as JPEG, and send that.",
            ));
        }
    }
    Err(Refusal::new(
        415,
        "This file is not a JPEG, PNG, GIF or WebP image (whatever its name says): send one of those.",
    ))
}

/// Makes the renditions of an upload of at most `max_bytes` bytes.
pub fn process(bytes: &[u8], max_bytes: u64) -> Result<Processed, Refusal> {
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(max_bytes));
    }
    let format = sniff(bytes)?;
    if format == Format::Gif
        && let Some(animated) = gif::animated(bytes)?
    {
        return Ok(animated);
    }
    let decoded = decode(format, bytes)?;
    Ok(renditions(&decoded))
}

/// The refusal of an upload over the size cap.
pub fn too_large(max_bytes: u64) -> Refusal {
    Refusal::new(
        413,
        format!(
            "The file is larger than this site takes ({} MB): send a smaller photo.",
            max_bytes / 1_000_000
        ),
    )
}

/// Refuses dimensions whose decoded pixels would not fit the budget.
fn check_budget(width: u32, height: u32) -> Result<(), Refusal> {
    if width == 0 || height == 0 {
        return Err(Refusal::new(400, "The image has no pixels."));
    }
    if u64::from(width) * u64::from(height) * 4 > DECODED_BUDGET {
        return Err(Refusal::new(
            413,
            format!(
                "The image is {width} × {height} pixels, more than this site decodes \
                 ({} megapixels at most): send it scaled down.",
                DECODED_BUDGET / 4 / 1_000_000
            ),
        ));
    }
    Ok(())
}

/// The pixels, the EXIF orientation and the colour profile, the budget
/// checked on the header first.
fn decode(format: Format, bytes: &[u8]) -> Result<decode::Decoded, Refusal> {
    decode::decode(format, bytes, check_budget)
}

/// The display size and the thumbnail of decoded pixels: scaled first
/// and turned upright after (turning the smaller copy is cheaper).
fn renditions(decoded: &decode::Decoded) -> Processed {
    let display = decoded
        .pixels
        .scaled(DISPLAY_MAX)
        .oriented(decoded.orientation);
    let thumb = display.scaled(THUMB_MAX);
    let icc = decoded.icc.as_deref();
    Processed {
        display: encode(&display, icc),
        thumb: encode(&thumb, icc),
    }
}

/// JPEG, or PNG when the pixels have transparency; nothing but the pixels
/// and the colour profile is written.
fn encode(pixels: &Pixels, icc: Option<&[u8]>) -> Rendition {
    let (width, height) = (pixels.width, pixels.height);
    let mut bytes = Vec::new();
    let mime = if pixels.channels == 4 {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&pixels.data))
            .expect("encoding RGBA pixels into a Vec");
        "image/png"
    } else {
        // Dimensions fit u16: the budget allows 16 megapixels and the
        // display size is at most DISPLAY_MAX a side.
        let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, JPEG_QUALITY);
        if let Some(icc) = icc {
            encoder.add_icc_profile(icc).ok();
        }
        encoder
            .encode(
                &pixels.data,
                width as u16,
                height as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encoding RGB pixels into a Vec");
        "image/jpeg"
    };
    Rendition {
        bytes,
        width,
        height,
        mime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_goes_by_the_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Ok(Format::Jpeg));
        assert_eq!(sniff(b"GIF89a...."), Ok(Format::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(Format::Webp));
        let heic = sniff(b"\0\0\0\x18ftypheic\0\0\0\0").unwrap_err();
        assert!(heic.message.contains("HEIC"), "{heic}");
        assert_eq!(sniff(b"<svg>").unwrap_err().status, 415);
    }

    #[test]
    fn dimensions_over_the_budget_are_refused() {
        assert!(check_budget(4000, 3000).is_ok());
        assert_eq!(check_budget(20_000, 20_000).unwrap_err().status, 413);
        assert_eq!(check_budget(0, 10).unwrap_err().status, 400);
    }
}
