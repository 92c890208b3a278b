//! Animated GIFs stay animated: the frames are copied as they are
//! (their LZW data is never decompressed, so counting 10,000 frames costs a
//! scan of the file, not 10,000 decodes) into a new file that holds only
//! the screen, the palettes, each frame's timing and the loop count.
//! Comments, XMP and every other application extension are left behind.
//! The animation keeps its size (the display rendition is the animation,
//! not scaled); the thumbnail is its first frame, made like any still.

use super::{Format, Processed, Refusal, Rendition, check_budget};

/// The most frames an animation may have: a few minutes of a typical one.
pub const MAX_FRAMES: usize = 1000;

/// The re-made animation and its first frame's thumbnail; `None` when the
/// GIF has a single frame (it is then treated as any still image).
pub fn animated(bytes: &[u8]) -> Result<Option<Processed>, Refusal> {
    let unreadable = |e: gif::DecodingError| Refusal::unreadable(Format::Gif, e);
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(super::DECODED_BUDGET).expect("a non-zero budget"),
    ));
    let mut decoder = options.read_info(bytes).map_err(unreadable)?;
    let (width, height) = (decoder.width(), decoder.height());
    check_budget(u32::from(width), u32::from(height))?;
    let palette = decoder.global_palette().unwrap_or(&[]).to_vec();
    let repeat = decoder.repeat();
    let mut frames = Vec::new();
    while let Some(frame) = decoder.read_next_frame().map_err(unreadable)? {
        if frames.len() == MAX_FRAMES {
            return Err(Refusal::new(
                413,
                format!("The GIF has more than {MAX_FRAMES} frames: send a shorter animation."),
            ));
        }
        if u32::from(frame.left) + u32::from(frame.width) > u32::from(width)
            || u32::from(frame.top) + u32::from(frame.height) > u32::from(height)
        {
            return Err(Refusal::new(
                400,
                "A frame of the GIF lies outside its screen: the file is damaged; send it again.",
            ));
        }
        frames.push(frame.clone());
    }
    if frames.len() < 2 {
        return Ok(None);
    }
    let mut out = Vec::new();
    {
        let fail = |e: gif::EncodingError| Refusal::unreadable(Format::Gif, e);
        let mut encoder = gif::Encoder::new(&mut out, width, height, &palette).map_err(fail)?;
        encoder.set_repeat(repeat).map_err(fail)?;
        for frame in &frames {
            encoder.write_lzw_pre_encoded_frame(frame).map_err(fail)?;
        }
    }
    drop(frames);
    let still = super::renditions(&super::decode(Format::Gif, bytes)?);
    Ok(Some(Processed {
        display: Rendition {
            bytes: out,
            width: u32::from(width),
            height: u32::from(height),
            mime: "image/gif",
        },
        thumb: still.thumb,
    }))
}
