//! grow-diag-final-and (Koehn et al. 2003), as Moses' `symal` applies it.

use super::Directional;

/// Combines a source→target alignment (`s2t[s]`: target position of source word `s`) and a target→source one
/// (`t2s[t]`) into sorted `(source, target)` points: start from the intersection, grow into neighbouring points
/// (diagonals included) of the union that align a word not yet aligned, then add union points whose source and
/// target words are both still unaligned.
#[allow(clippy::needless_range_loop)] // index arithmetic over the alignment grid reads best as loops
pub fn grow_diag_final_and(src_len: usize, tgt_len: usize, s2t: &Directional, t2s: &Directional) -> Vec<(u16, u16)> {
    let mut union = vec![false; src_len * tgt_len];
    let mut inter = vec![false; src_len * tgt_len];
    for (s, t) in s2t.iter().enumerate() {
        if let Some(t) = *t
            && s < src_len
            && (t as usize) < tgt_len
        {
            union[s * tgt_len + t as usize] = true;
        }
    }
    for (t, s) in t2s.iter().enumerate() {
        if let Some(s) = *s
            && (s as usize) < src_len
            && t < tgt_len
        {
            let k = s as usize * tgt_len + t;
            if union[k] {
                inter[k] = true;
            }
            union[k] = true;
        }
    }
    let mut aligned = inter.clone();
    let mut src_aligned = vec![false; src_len];
    let mut tgt_aligned = vec![false; tgt_len];
    for s in 0..src_len {
        for t in 0..tgt_len {
            if aligned[s * tgt_len + t] {
                src_aligned[s] = true;
                tgt_aligned[t] = true;
            }
        }
    }
    const NEIGHBOURS: [(i64, i64); 8] = [(-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)];
    loop {
        let mut added = false;
        for s in 0..src_len {
            for t in 0..tgt_len {
                if !aligned[s * tgt_len + t] {
                    continue;
                }
                for (ds, dt) in NEIGHBOURS {
                    let (ns, nt) = (s as i64 + ds, t as i64 + dt);
                    if ns < 0 || nt < 0 || ns >= src_len as i64 || nt >= tgt_len as i64 {
                        continue;
                    }
                    let (ns, nt) = (ns as usize, nt as usize);
                    let k = ns * tgt_len + nt;
                    if union[k] && !aligned[k] && (!src_aligned[ns] || !tgt_aligned[nt]) {
                        aligned[k] = true;
                        src_aligned[ns] = true;
                        tgt_aligned[nt] = true;
                        added = true;
                    }
                }
            }
        }
        if !added {
            break;
        }
    }
    for s in 0..src_len {
        for t in 0..tgt_len {
            let k = s * tgt_len + t;
            if union[k] && !aligned[k] && !src_aligned[s] && !tgt_aligned[t] {
                aligned[k] = true;
                src_aligned[s] = true;
                tgt_aligned[t] = true;
            }
        }
    }
    let mut points = Vec::new();
    for s in 0..src_len {
        for t in 0..tgt_len {
            if aligned[s * tgt_len + t] {
                points.push((s as u16, t as u16));
            }
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_the_intersection() {
        // s2t: 0→0, 1→1, 2→1; t2s: 0→0, 1→1, 2→2 (target 2 aligned only in this direction).
        let s2t = vec![Some(0), Some(1), Some(1)];
        let t2s = vec![Some(0), Some(1), Some(2)];
        let points = grow_diag_final_and(3, 3, &s2t, &t2s);
        // Intersection {(0,0),(1,1)}; (2,1) and (2,2) are union neighbours of (1,1) with source 2 unaligned:
        // (2,1) is added first, which aligns source 2, then (2,2) still aligns target 2.
        assert_eq!(points, [(0, 0), (1, 1), (2, 1), (2, 2)]);
        // No intersection at all: final-and adds union points whose words are both unaligned.
        let points = grow_diag_final_and(2, 2, &vec![Some(1), None], &vec![Some(1), None]);
        assert_eq!(points, [(0, 1), (1, 0)]);
    }
}
