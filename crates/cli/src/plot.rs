//! SVG plots for `weighbridge compare --plot`: ROC curves for classification, predicted
//! against actual for regression. A picture shows where two models differ (which
//! operating points, which range of the target) better than a table of averages.

use std::path::Path;

use plotters::coord::ranged1d::Ranged;
use plotters::coord::Shift;
use plotters::prelude::*;
use weighbridge_core::metrics::roc_curve;

use crate::error::CliError;

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn plot_error(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("cannot draw {}: {e}", path.display()))
}

/// ROC curves of every variant, with the chance diagonal.
pub fn roc(path: &Path, labels: &[f64], variants: &[(String, Vec<f64>)]) -> Result<(), CliError> {
    let root = SVGBackend::new(path, (720, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("ROC curves", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(|e| plot_error(path, e))?;
    chart
        .configure_mesh()
        .x_desc("false-positive rate")
        .y_desc("true-positive rate")
        .draw()
        .map_err(|e| plot_error(path, e))?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.3)))
        .map_err(|e| plot_error(path, e))?;
    for (i, (name, scores)) in variants.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let curve =
            roc_curve(scores, labels, 2000).map_err(CliError::core(format!("ROC curve of {name}")))?;
        chart
            .draw_series(LineSeries::new(curve, colour.stroke_width(2)))
            .map_err(|e| plot_error(path, e))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    finish(path, &root, &mut chart)
}

/// Predicted against actual for every variant (at most 3,000 points each), with y = x.
pub fn predicted_vs_actual(
    path: &Path,
    labels: &[f64],
    variants: &[(String, Vec<f64>)],
) -> Result<(), CliError> {
    let all = labels.iter().chain(variants.iter().flat_map(|(_, p)| p.iter()));
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let range = (lo - pad)..(hi + pad);
    let root = SVGBackend::new(path, (720, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Predicted against actual", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(range.clone(), range.clone())
        .map_err(|e| plot_error(path, e))?;
    chart
        .configure_mesh()
        .x_desc("label")
        .y_desc("prediction")
        .draw()
        .map_err(|e| plot_error(path, e))?;
    chart
        .draw_series(LineSeries::new(
            [(range.start, range.start), (range.end, range.end)],
            BLACK.mix(0.3),
        ))
        .map_err(|e| plot_error(path, e))?;
    let stride = labels.len().div_ceil(3000).max(1);
    for (i, (name, predictions)) in variants.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points = labels.iter().zip(predictions).step_by(stride);
        chart
            .draw_series(points.map(|(&y, &p)| Circle::new((y, p), 2, colour.mix(0.5).filled())))
            .map_err(|e| plot_error(path, e))?
            .label(name.clone())
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
    }
    finish(path, &root, &mut chart)
}

fn finish<'a, X: Ranged, Y: Ranged>(
    path: &Path,
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> Result<(), CliError> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))
}

/// The demo's looks: each variant's traffic weight (top) and RMSE with its interval
/// (bottom) at every scheduled look, so the shift, the promotion and the rollback show.
pub fn looks(
    path: &Path,
    summary: &weighbridge_local::demo::DemoSummary,
    label: &dyn Fn(&str) -> String,
) -> Result<(), CliError> {
    let n = summary.looks.len().max(1) as f64;
    // Per variant: (look, weight, rmse, interval low, interval high) at each look.
    type Point = (f64, f64, f64, f64, f64);
    let mut series: Vec<(String, Vec<Point>)> = Vec::new();
    for (i, l) in summary.looks.iter().enumerate() {
        for v in &l.variants {
            let name = label(&v.variant);
            let weight = l.weights.get(&v.variant).copied().unwrap_or(0.0);
            let (lo, hi) = v.interval.unwrap_or((v.rmse, v.rmse));
            let point = (i as f64 + 1.0, weight, v.rmse, lo, hi);
            match series.iter_mut().find(|(s, _)| *s == name) {
                Some((_, points)) => points.push(point),
                None => series.push((name, vec![point])),
            }
        }
    }
    let (lo, hi) = series
        .iter()
        .flat_map(|(_, p)| p.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.3), b.max(p.4))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo * 0.95, hi * 1.05)
    } else {
        (0.0, 1.0)
    };
    let root = SVGBackend::new(path, (900, 720)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let (top, bottom) = root.split_vertically(340);
    let mut weights = ChartBuilder::on(&top)
        .caption("Traffic weight after each look", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.5..n + 0.5, 0.0..1.05)
        .map_err(|e| plot_error(path, e))?;
    let whole = |x: &f64| format!("{x:.0}");
    let ticks = summary.looks.len().max(1);
    weights
        .configure_mesh()
        .x_labels(ticks)
        .x_label_formatter(&whole)
        .x_desc("look")
        .y_desc("weight")
        .draw()
        .map_err(|e| plot_error(path, e))?;
    let mut rmse = ChartBuilder::on(&bottom)
        .caption("RMSE per variant (pointwise 95% interval)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.5..n + 0.5, lo..hi)
        .map_err(|e| plot_error(path, e))?;
    rmse.configure_mesh()
        .x_labels(ticks)
        .x_label_formatter(&whole)
        .x_desc("look")
        .y_desc("RMSE")
        .draw()
        .map_err(|e| plot_error(path, e))?;
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        weights
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, p.1)),
                colour.stroke_width(2),
            ))
            .map_err(|e| plot_error(path, e))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        weights
            .draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 3, colour.filled())))
            .map_err(|e| plot_error(path, e))?;
        rmse.draw_series(
            points
                .iter()
                .map(|p| ErrorBar::new_vertical(p.0, p.3, p.2, p.4, colour.stroke_width(2), 8)),
        )
        .map_err(|e| plot_error(path, e))?;
    }
    weights
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))
}
