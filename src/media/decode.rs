//! Each format's decoder, called directly (jpeg-decoder, png, gif,
//! image-webp) rather than through the `image` crate, whose generic layer
//! cost more of the binary's size budget than the four decoders together:
//! the dimensions from the header first (checked against the budget by
//! the caller's `check`), then 8-bit pixels, the EXIF orientation and the
//! colour profile. A JPEG is decoded at the smallest DCT scale (1/2, 1/4,
//! 1/8) still at least the display size: a 12-megapixel photo is decoded
//! as 3 megapixels, in a quarter of the time and memory.

use super::pixels::Pixels;
use super::{DISPLAY_MAX, Format, Refusal};
use std::io::Cursor;

/// What a decoder gives.
pub struct Decoded {
    pub pixels: Pixels,
    /// EXIF orientation, 1 (upright) to 8.
    pub orientation: u8,
    pub icc: Option<Vec<u8>>,
}

/// Decodes `bytes` of `format`, after `check` accepted its dimensions.
pub fn decode(
    format: Format,
    bytes: &[u8],
    check: impl Fn(u32, u32) -> Result<(), Refusal>,
) -> Result<Decoded, Refusal> {
    let fail = |e: &dyn std::fmt::Display| Refusal::unreadable(format, e);
    match format {
        Format::Jpeg => jpeg(bytes, &check).map_err(|e| match e {
            Failure::Refused(refusal) => refusal,
            Failure::Jpeg(e) => fail(&e),
        }),
        Format::Png => {
            let mut decoder = png::Decoder::new(Cursor::new(bytes));
            decoder.set_transformations(png::Transformations::normalize_to_color8());
            let mut reader = decoder.read_info().map_err(|e| fail(&e))?;
            let (width, height) = (reader.info().width, reader.info().height);
            check(width, height)?;
            let orientation = reader
                .info()
                .exif_metadata
                .as_deref()
                .map_or(1, exif_orientation);
            let icc = reader.info().icc_profile.as_deref().map(<[u8]>::to_vec);
            let (color, _) = reader.output_color_type();
            let size = reader
                .output_buffer_size()
                .ok_or_else(|| fail(&"too large"))?;
            let mut raw = vec![0; size];
            let frame = reader.next_frame(&mut raw).map_err(|e| fail(&e))?;
            raw.truncate(frame.buffer_size());
            let samples = match color {
                png::ColorType::Grayscale => 1,
                png::ColorType::GrayscaleAlpha => 2,
                png::ColorType::Rgb => 3,
                _ => 4,
            };
            Ok(Decoded {
                pixels: Pixels::from_decoded(width, height, samples, raw),
                orientation,
                icc,
            })
        }
        Format::Gif => {
            let mut options = gif::DecodeOptions::new();
            options.set_color_output(gif::ColorOutput::RGBA);
            let mut decoder = options.read_info(bytes).map_err(|e| fail(&e))?;
            let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
            check(width, height)?;
            // The first frame, drawn on the transparent screen where it lies.
            let mut canvas = vec![0u8; width as usize * height as usize * 4];
            if let Some(frame) = decoder.read_next_frame().map_err(|e| fail(&e))? {
                let (left, top) = (usize::from(frame.left), usize::from(frame.top));
                let frame_width = usize::from(frame.width);
                for (row, line) in frame.buffer.chunks_exact(frame_width * 4).enumerate() {
                    let y = top + row;
                    if y >= height as usize || left >= width as usize {
                        break;
                    }
                    let visible = frame_width.min(width as usize - left) * 4;
                    let at = (y * width as usize + left) * 4;
                    canvas[at..at + visible].copy_from_slice(&line[..visible]);
                }
            }
            Ok(Decoded {
                pixels: Pixels::from_decoded(width, height, 4, canvas),
                orientation: 1,
                icc: None,
            })
        }
        Format::Webp => {
            let mut decoder =
                image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| fail(&e))?;
            let (width, height) = decoder.dimensions();
            check(width, height)?;
            let orientation = decoder
                .exif_metadata()
                .ok()
                .flatten()
                .map_or(1, |exif| exif_orientation(&exif));
            let icc = decoder.icc_profile().ok().flatten();
            let samples = if decoder.has_alpha() { 4 } else { 3 };
            let size = decoder
                .output_buffer_size()
                .ok_or_else(|| fail(&"too large"))?;
            let mut raw = vec![0; size];
            decoder.read_image(&mut raw).map_err(|e| fail(&e))?;
            Ok(Decoded {
                pixels: Pixels::from_decoded(width, height, samples, raw),
                orientation,
                icc,
            })
        }
    }
}

enum Failure {
    Refused(Refusal),
    Jpeg(jpeg_decoder::Error),
}

impl From<jpeg_decoder::Error> for Failure {
    fn from(e: jpeg_decoder::Error) -> Failure {
        Failure::Jpeg(e)
    }
}

fn jpeg(bytes: &[u8], check: &dyn Fn(u32, u32) -> Result<(), Refusal>) -> Result<Decoded, Failure> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info()?;
    let info = decoder.info().ok_or(Failure::Refused(Refusal::new(
        400,
        "The JPEG file has no image in it: send it again.",
    )))?;
    check(u32::from(info.width), u32::from(info.height)).map_err(Failure::Refused)?;
    // The smallest DCT scale whose longer side is still DISPLAY_MAX or more.
    let longest = info.width.max(info.height).max(1);
    let scale = |side: u16| {
        (u32::from(side) * DISPLAY_MAX / u32::from(longest)).clamp(1, u32::from(side)) as u16
    };
    if longest as u32 > DISPLAY_MAX {
        decoder.scale(scale(info.width), scale(info.height))?;
    }
    let orientation = decoder.exif_data().map_or(1, exif_orientation);
    let icc = decoder.icc_profile();
    let raw = decoder.decode()?;
    let info = decoder.info().expect("decoded, so its header was read");
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => Pixels::from_decoded(width, height, 1, raw),
        jpeg_decoder::PixelFormat::RGB24 => Pixels::from_decoded(width, height, 3, raw),
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb = raw
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u32::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u32::from(p[i])) * k / 255) as u8)
                })
                .collect();
            Pixels::from_decoded(width, height, 3, rgb)
        }
        jpeg_decoder::PixelFormat::L16 => {
            return Err(Failure::Refused(Refusal::new(
                415,
                "16-bit (lossless) JPEGs are not taken here: export the photo as an ordinary JPEG.",
            )));
        }
    };
    Ok(Decoded {
        pixels,
        orientation,
        icc,
    })
}

/// The orientation (tag 0x0112 of the first IFD) in an EXIF block, with or
/// without its `Exif\0\0` prefix; 1 when there is none or it is damaged.
pub fn exif_orientation(exif: &[u8]) -> u8 {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let big = match tiff.get(..2) {
        Some(b"MM") => true,
        Some(b"II") => false,
        _ => return 1,
    };
    let u16_at = |at: usize| {
        let b = tiff.get(at..at + 2)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |at: usize| {
        let b = tiff.get(at..at + 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let found = (|| {
        let ifd = u32_at(4)? as usize;
        let count = usize::from(u16_at(ifd)?);
        (0..count.min(256)).find_map(|i| {
            let entry = ifd + 2 + i * 12;
            (u16_at(entry)? == 0x0112).then(|| u16_at(entry + 8))?
        })
    })();
    match found {
        Some(value @ 1..=8) => value as u8,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orientation_is_read_in_either_byte_order() {
        let big = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0";
        assert_eq!(exif_orientation(big), 6);
        let little = b"II\x2a\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x08\0\0\0";
        assert_eq!(exif_orientation(little), 8);
        assert_eq!(exif_orientation(b"MM\0\x2a\xff\xff\xff\xff"), 1);
        assert_eq!(exif_orientation(b""), 1);
    }
}
