//! Decoded pixels as roost handles them: 8-bit RGB, or RGBA when some pixel
//! is transparent; scaling down by area averaging and the eight EXIF
//! orientations. Written here, over plain bytes, rather than through the
//! `image` crate, whose generic operations are compiled once per pixel
//! type: the binary's size budget had no room for them.

/// Pixels, row by row, `channels` bytes each (3: RGB, 4: RGBA).
#[derive(Debug, Clone, PartialEq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: usize,
    pub data: Vec<u8>,
}

impl Pixels {
    /// From a decoder's 8-bit buffer of `samples` a pixel (grey, grey and
    /// alpha, RGB, RGBA): grey becomes RGB, and an alpha channel stays only
    /// when some pixel uses it.
    pub fn from_decoded(width: u32, height: u32, samples: usize, raw: Vec<u8>) -> Pixels {
        let alpha = samples == 2 || samples == 4;
        let transparent = alpha && raw.chunks_exact(samples).any(|p| p[samples - 1] != 255);
        let channels = if transparent { 4 } else { 3 };
        // The common case (a photo) keeps the decoder's buffer: a copy of
        // a large one would double it.
        if samples == channels {
            return Pixels {
                width,
                height,
                channels,
                data: raw,
            };
        }
        let mut data = Vec::with_capacity(width as usize * height as usize * channels);
        for pixel in raw.chunks_exact(samples) {
            if samples <= 2 {
                data.extend_from_slice(&[pixel[0], pixel[0], pixel[0]]);
            } else {
                data.extend_from_slice(&pixel[..3]);
            }
            if transparent {
                data.push(pixel[samples - 1]);
            }
        }
        Pixels {
            width,
            height,
            channels,
            data,
        }
    }

    /// Scaled down (never up) to fit `max` px a side, each source pixel
    /// counted once in the output pixel it falls in, in integers.
    pub fn scaled(&self, max: u32) -> Pixels {
        if self.width <= max && self.height <= max {
            return self.clone();
        }
        let (width, height) = fit(self.width, self.height, max);
        let ch = self.channels;
        let column: Vec<usize> = (0..self.width as usize)
            .map(|x| x * width as usize / self.width as usize)
            .collect();
        let mut data = Vec::with_capacity(width as usize * height as usize * ch);
        let mut sums = vec![0u32; width as usize * ch];
        let mut counts = vec![0u32; width as usize];
        let row_bytes = self.width as usize * ch;
        let mut source_row = 0usize;
        for out_y in 0..height as usize {
            sums.fill(0);
            counts.fill(0);
            let end = ((out_y + 1) * self.height as usize).div_ceil(height as usize);
            let end = end.min(self.height as usize).max(source_row + 1);
            for y in source_row..end {
                let row = &self.data[y * row_bytes..(y + 1) * row_bytes];
                for (x, pixel) in row.chunks_exact(ch).enumerate() {
                    let out_x = column[x];
                    counts[out_x] += 1;
                    for (sum, value) in sums[out_x * ch..out_x * ch + ch].iter_mut().zip(pixel) {
                        *sum += u32::from(*value);
                    }
                }
            }
            source_row = end;
            for (out_x, count) in counts.iter().enumerate() {
                let count = (*count).max(1);
                for sum in &sums[out_x * ch..out_x * ch + ch] {
                    data.push(((sum + count / 2) / count) as u8);
                }
            }
        }
        Pixels {
            width,
            height,
            channels: ch,
            data,
        }
    }

    /// Turned and flipped as EXIF orientation `exif` (1 to 8) says, so that
    /// it shows upright without it.
    pub fn oriented(self, exif: u8) -> Pixels {
        if !(2..=8).contains(&exif) {
            return self;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let (out_w, out_h) = if exif >= 5 { (h, w) } else { (w, h) };
        let ch = self.channels;
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..out_h {
            for x in 0..out_w {
                // Where the output pixel (x, y) comes from.
                let (sx, sy) = match exif {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x),
                };
                let at = (sy * w + sx) * ch;
                data.extend_from_slice(&self.data[at..at + ch]);
            }
        }
        Pixels {
            width: out_w as u32,
            height: out_h as u32,
            channels: ch,
            data,
        }
    }
}

/// `width` × `height` scaled to fit `max` a side, the ratio kept, at
/// least 1 px each way.
fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    let (w, h, m) = (u64::from(width), u64::from(height), u64::from(max));
    if w >= h {
        (max, ((h * m + w / 2) / w).max(1) as u32)
    } else {
        (((w * m + h / 2) / h).max(1) as u32, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(width: u32, height: u32) -> Pixels {
        let data = (0..width * height).flat_map(|i| [i as u8, 0, 0]).collect();
        Pixels {
            width,
            height,
            channels: 3,
            data,
        }
    }

    #[test]
    fn each_orientation_puts_the_first_pixel_where_exif_says() {
        // 3 × 2: pixel values 0..6 in the red channel, row by row.
        let corner = |p: &Pixels| (p.width, p.height, p.data[0]);
        assert_eq!(corner(&grid(3, 2).oriented(1)), (3, 2, 0));
        assert_eq!(corner(&grid(3, 2).oriented(2)), (3, 2, 2));
        assert_eq!(corner(&grid(3, 2).oriented(3)), (3, 2, 5));
        assert_eq!(corner(&grid(3, 2).oriented(4)), (3, 2, 3));
        assert_eq!(corner(&grid(3, 2).oriented(5)), (2, 3, 0));
        // 90° clockwise: the bottom-left pixel comes to the top-left.
        assert_eq!(corner(&grid(3, 2).oriented(6)), (2, 3, 3));
        assert_eq!(corner(&grid(3, 2).oriented(7)), (2, 3, 5));
        assert_eq!(corner(&grid(3, 2).oriented(8)), (2, 3, 2));
    }

    #[test]
    fn scaling_averages_and_keeps_the_ratio() {
        let flat = Pixels {
            width: 4000,
            height: 3000,
            channels: 3,
            data: vec![100; 4000 * 3000 * 3],
        };
        let small = flat.scaled(400);
        assert_eq!((small.width, small.height), (400, 300));
        assert!(small.data.iter().all(|v| *v == 100));
        assert_eq!(grid(10, 1).scaled(5).data[..6], [1, 0, 0, 3, 0, 0]);
        assert_eq!(fit(1, 5000, 400), (1, 400));
    }

    #[test]
    fn grey_becomes_rgb_and_unused_alpha_goes() {
        let grey = Pixels::from_decoded(1, 1, 2, vec![7, 255]);
        assert_eq!((grey.channels, grey.data), (3, vec![7, 7, 7]));
        let see_through = Pixels::from_decoded(2, 1, 4, vec![1, 2, 3, 255, 4, 5, 6, 0]);
        assert_eq!(see_through.channels, 4);
        let opaque = Pixels::from_decoded(1, 1, 4, vec![1, 2, 3, 255]);
        assert_eq!((opaque.channels, opaque.data), (3, vec![1, 2, 3]));
    }
}
