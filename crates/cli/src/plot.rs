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

/// The demo's looks over virtual time: each variant's traffic weight (top), from the
/// weights before an experiment's first look to those after its last, and its RMSE at
/// every look with the interval where the evaluator gives one (bottom), so the shifts,
/// the holds, the promotion and the rollback show where they happened.
pub fn looks(
    path: &Path,
    summary: &weighbridge_local::demo::DemoSummary,
    label: &dyn Fn(&str) -> String,
) -> Result<(), CliError> {
    let series = demo_series(summary, label);
    let days = summary
        .looks
        .last()
        .map_or(1.0, |l| day_of(summary, l.at))
        .max(1.0);
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.rmse.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.2), b.max(p.3))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo * 0.9, hi * 1.05)
    } else {
        (0.0, 1.0)
    };
    let root = SVGBackend::new(path, (960, 720)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let (top, bottom) = root.split_vertically(340);
    let mut weights = ChartBuilder::on(&top)
        .caption(
            "Traffic weight (before the first look of each experiment, then after each look)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..days + 0.5, 0.0..1.05)
        .map_err(|e| plot_error(path, e))?;
    weights
        .configure_mesh()
        .x_desc("virtual day")
        .y_desc("weight")
        .draw()
        .map_err(|e| plot_error(path, e))?;
    let mut rmse = ChartBuilder::on(&bottom)
        .caption(
            "RMSE per variant at each look (lower is better)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..days + 0.5, lo..hi)
        .map_err(|e| plot_error(path, e))?;
    rmse.configure_mesh()
        .x_desc("virtual day")
        .y_desc("RMSE")
        .draw()
        .map_err(|e| plot_error(path, e))?;
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        weights
            .draw_series(LineSeries::new(s.weights.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| plot_error(path, e))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        weights
            .draw_series(s.weights.iter().map(|p| Circle::new(*p, 3, colour.filled())))
            .map_err(|e| plot_error(path, e))?;
        rmse.draw_series(LineSeries::new(
            s.rmse.iter().map(|p| (p.0, p.1)),
            colour.stroke_width(1),
        ))
        .map_err(|e| plot_error(path, e))?;
        rmse.draw_series(
            s.rmse
                .iter()
                .map(|p| ErrorBar::new_vertical(p.0, p.2, p.1, p.3, colour.stroke_width(2), 8)),
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

/// One variant's points: (day, weight) and (day, RMSE, low, high).
struct VariantSeries {
    name: String,
    weights: Vec<(f64, f64)>,
    rmse: Vec<(f64, f64, f64, f64)>,
}

/// Days since the day before the first look (when the first experiment's traffic began).
fn day_of(summary: &weighbridge_local::demo::DemoSummary, at: chrono::DateTime<chrono::Utc>) -> f64 {
    let start = summary.looks.first().map_or(at, |l| l.at) - chrono::Duration::hours(24);
    (at - start).num_minutes() as f64 / (24.0 * 60.0)
}

fn demo_series(
    summary: &weighbridge_local::demo::DemoSummary,
    label: &dyn Fn(&str) -> String,
) -> Vec<VariantSeries> {
    let mut series: Vec<VariantSeries> = Vec::new();
    fn entry(series: &mut Vec<VariantSeries>, name: String) -> &mut VariantSeries {
        let i = match series.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                series.push(VariantSeries {
                    name,
                    weights: Vec::new(),
                    rmse: Vec::new(),
                });
                series.len() - 1
            }
        };
        &mut series[i]
    }
    for l in &summary.looks {
        let day = day_of(summary, l.at);
        if l.look == 1 {
            for (v, w) in &l.previous_weights {
                entry(&mut series, label(v)).weights.push((day - 1.0, *w));
            }
        }
        for (v, w) in &l.weights {
            entry(&mut series, label(v)).weights.push((day, *w));
        }
        for v in &l.variants {
            if v.rmse.is_finite() {
                let (lo, hi) = v.interval.unwrap_or((v.rmse, v.rmse));
                entry(&mut series, label(&v.variant))
                    .rmse
                    .push((day, v.rmse, lo, hi));
            }
            // A variant removed by a promotion or rollback ends at weight 0.
            if !l.weights.contains_key(&v.variant) {
                entry(&mut series, label(&v.variant)).weights.push((day, 0.0));
            }
        }
    }
    series
}
