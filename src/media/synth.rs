//! Synthetic speech-like audio, the same signal every time for a seed: what
//! `faxbridge bench bridge` plays through the analogue bridge, and what the
//! classifier's labelled corpus uses as a speech sample beside recorded
//! voices. Not used on the call path.

/// Speech-like audio: a glottal pulse train (pitch gliding around 160 Hz)
/// or noise, through three vowel formants, in segments of 80–330 ms with
/// pauses; scaled to `level` RMS.
pub fn speech(secs: f64, seed: u64, level: f64) -> Vec<i16> {
    use std::f64::consts::{PI, TAU};
    const VOWELS: [(f64, f64, f64); 6] = [
        (730.0, 1090.0, 2440.0),
        (270.0, 2290.0, 3010.0),
        (300.0, 870.0, 2240.0),
        (530.0, 1840.0, 2480.0),
        (570.0, 840.0, 2410.0),
        (660.0, 1720.0, 2410.0),
    ];
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    let n = (secs * 8000.0) as usize;
    let mut out = Vec::with_capacity(n);
    let mut res = [[0.0f64; 2]; 3];
    let (mut phase, mut left, mut vowel, mut voiced, mut gain) =
        (0.0, 0usize, VOWELS[0], true, 1.0);
    for i in 0..n {
        if left == 0 {
            left = ((0.08 + 0.25 * next()) * 8000.0) as usize;
            vowel = VOWELS[(next() * 6.0) as usize % 6];
            let r = next();
            voiced = r > 0.3;
            gain = if r < 0.15 { 0.0 } else { 0.4 + next() };
        }
        left -= 1;
        let t = i as f64 / 8000.0;
        let f0 = 160.0 + 70.0 * (TAU * 0.4 * t).sin() + 20.0 * (TAU * 2.3 * t).sin();
        phase += f0 / 8000.0;
        let pulse = if phase >= 1.0 {
            phase -= 1.0;
            1.0
        } else {
            0.0
        };
        let noise = next() - 0.5;
        let mut y = if voiced { pulse * 8.0 } else { 0.3 * noise };
        for (k, (f, bw)) in [(vowel.0, 80.0), (vowel.1, 110.0), (vowel.2, 160.0)]
            .into_iter()
            .enumerate()
        {
            let r = (-PI * bw / 8000.0).exp();
            let c = 2.0 * r * (TAU * f / 8000.0).cos();
            let v = y + c * res[k][0] - r * r * res[k][1];
            res[k][1] = res[k][0];
            res[k][0] = v;
            y = v * (1.0 - r);
        }
        out.push(y * gain + 0.002 * noise);
    }
    let rms = (out.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64).sqrt();
    out.iter()
        .map(|v| (v * level / rms.max(1e-9)).clamp(-32000.0, 32000.0) as i16)
        .collect()
}
