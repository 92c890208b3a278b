//! A photo-like JPEG for the upload benchmark (`bench/media`): smooth
//! gradients with a little noise (so it compresses like a photo, not like a
//! flat test card), an EXIF orientation and a GPS position, as a phone
//! writes them.
//!
//! ```sh
//! cargo run --release --example media_fixture -- OUT.jpg [WIDTH HEIGHT]
//! ```
//!
//! 4000 × 3000 (12 megapixels) unless told otherwise.

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .expect("usage: media_fixture OUT.jpg [WIDTH HEIGHT]");
    let width: u32 = args.next().map_or(4000, |w| w.parse().expect("a width"));
    let height: u32 = args.next().map_or(3000, |h| h.parse().expect("a height"));
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed % 24) as u32;
        let r = (x * 200 / width + noise) as u8;
        let g = (y * 180 / height + noise) as u8;
        let b = ((x + y) * 150 / (width + height) + 40 + noise) as u8;
        image::Rgb([r, g, b])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&image)
        .expect("encoding");
    // EXIF: orientation 6 and a GPS IFD (GPSVersionID, GPSLatitudeRef N).
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38, 0, 0, 0, 0, 0, 2]);
    tiff.extend_from_slice(&[0x00, 0x00, 0, 1, 0, 0, 0, 4, 2, 2, 0, 0]);
    tiff.extend_from_slice(&[0x00, 0x01, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let mut file = std::fs::File::create(&out).expect("creating the output");
    file.write_all(&jpeg[..2]).unwrap();
    file.write_all(&app1).unwrap();
    file.write_all(&jpeg[2..]).unwrap();
    eprintln!(
        "{out}: {width} x {height}, {} bytes",
        jpeg.len() + app1.len()
    );
}
