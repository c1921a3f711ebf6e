//! `exp`, `ln(1 + x)`, the logistic function and softplus from additions, multiplications
//! and divisions only: the platform's `libm` may round its transcendental functions
//! differently, which would make training reproducible on one machine only.

const LOG2_E: f64 = std::f64::consts::LOG2_E;
// ln 2 split in two (fdlibm's constants), so that k × LN2_HI is exact for the k of `exp`.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// e^x, within a few units in the last place; 0 below -708, infinity above 709.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < -708.0 {
        return 0.0;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    let k = (x * LOG2_E).round();
    let r = (x - k * LN2_HI) - k * LN2_LO; // |r| <= 0.35
                                           // Taylor series to r^17/17!, by Horner's rule: the error is far below an ulp.
    let mut p = 1.0;
    for n in (1..=17).rev() {
        p = 1.0 + r * p / f64::from(n);
    }
    // k is in [-1022, 1023]: 2^k is a normal number.
    p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// ln(1 + u) for u in [0, 1], as 2 atanh(u / (2 + u)) by its series.
pub fn ln1p(u: f64) -> f64 {
    let s = u / (2.0 + u); // <= 1/3
    let s2 = s * s;
    let mut sum = 0.0;
    let mut term = s;
    for n in 0..24 {
        sum += term / f64::from(2 * n + 1);
        term *= s2;
    }
    2.0 * sum
}

/// The logistic function 1 / (1 + e^-x).
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

/// ln(1 + e^x), without overflow.
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + ln1p(exp(-x))
    } else {
        ln1p(exp(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agree_with_the_platform_within_rounding() {
        let mut x = -700.0;
        while x < 700.0 {
            let (a, b) = (exp(x), x.exp());
            assert!(((a - b) / b).abs() < 4e-16, "exp({x}) = {a}, libm {b}");
            x += 0.37;
        }
        for &u in &[0.0, 1e-300, 1e-17, 1e-9, 0.001, 0.1, 0.5, 0.999, 1.0] {
            let (a, b) = (ln1p(u), f64::ln_1p(u));
            assert!(
                a == b || ((a - b) / b).abs() < 4e-16,
                "ln1p({u}) = {a}, libm {b}"
            );
        }
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!((softplus(50.0) - 50.0).abs() < 1e-15);
        assert!((softplus(0.0) - std::f64::consts::LN_2).abs() < 1e-15);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-16);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) <= 1.0);
    }
}
