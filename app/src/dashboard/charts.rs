//! The trend charts, drawn on the server as SVG with plotters: axes with units, a bar or a
//! point per day, and over each a transparent target with a `<title>` (the day and its value)
//! so a pointer or a screen reader gets the exact figure. The page also offers every chart as
//! a table.
use super::{
    figures::{Shape, Trend},
    Chart,
};
use plotters::prelude::*;
use time::Date;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 260;
const INDIGO: RGBColor = RGBColor(79, 70, 229);
const GRID: RGBColor = RGBColor(226, 232, 240);
const INK: RGBColor = RGBColor(71, 85, 105);

/// "24 Nov".
pub fn day_label(d: Date) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {}",
        d.day(),
        MONTHS[usize::from(u8::from(d.month())) - 1]
    )
}

fn value_label(t: &Trend, v: Option<f64>) -> String {
    // An empty float sum is -0.0, which would print as "-0".
    match v.map(|v| if v == 0.0 { 0.0 } else { v }) {
        None => "no data".to_owned(),
        Some(v) if t.unit == "USD" => format!("${v:.*}", t.decimals),
        Some(v) => format!("{v:.*}", t.decimals),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart and its table.
pub fn render(t: &Trend) -> Chart {
    let rows = t
        .days
        .iter()
        .zip(&t.values)
        .map(|(d, v)| (day_label(*d), value_label(t, *v)))
        .collect();
    let svg = draw(t).unwrap_or_else(|e| {
        tracing::warn!(chart = t.id, error = %e, "drawing a chart failed");
        String::new()
    });
    Chart {
        id: t.id.to_owned(),
        title: t.title.to_owned(),
        unit: t.unit.to_owned(),
        svg,
        rows,
    }
}

fn draw(t: &Trend) -> Result<String, Box<dyn std::error::Error>> {
    let n = t.days.len().max(1);
    let max = t.values.iter().flatten().copied().fold(0.0_f64, f64::max);
    // Headroom above the highest value, and a visible axis when everything is zero.
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let mut svg = String::new();
    let mut targets = Vec::with_capacity(n);
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5_f64..(n as f64 - 0.5), 0.0_f64..top)?;
        let days = t.days.clone();
        let decimals = if top < 10.0 { t.decimals.max(1) } else { 0 };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(INK)
            .label_style(("sans-serif", 15).into_font().color(&INK))
            .x_labels(n.min(8))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() > 0.01 || i < 0.0 {
                    return String::new();
                }
                days.get(i as usize)
                    .map(|d| day_label(*d))
                    .unwrap_or_default()
            })
            .y_labels(5)
            .y_label_formatter(&|y| format!("{y:.decimals$}"))
            .y_desc(t.unit)
            .axis_desc_style(("sans-serif", 15).into_font().color(&INK))
            .draw()?;
        let points: Vec<(usize, f64)> = t
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        match t.shape {
            Shape::Bars => {
                let half = 0.35;
                chart.draw_series(points.iter().map(|(i, v)| {
                    let x = *i as f64;
                    Rectangle::new([(x - half, 0.0), (x + half, *v)], INDIGO.filled())
                }))?;
            }
            Shape::Line => {
                // A gap (a day without data) breaks the line.
                let mut run: Vec<(f64, f64)> = Vec::new();
                for (i, v) in t.values.iter().enumerate() {
                    match v {
                        Some(v) => run.push((i as f64, *v)),
                        None if !run.is_empty() => {
                            chart.draw_series(LineSeries::new(
                                std::mem::take(&mut run),
                                INDIGO.stroke_width(2),
                            ))?;
                        }
                        None => {}
                    }
                }
                if !run.is_empty() {
                    chart.draw_series(LineSeries::new(run, INDIGO.stroke_width(2)))?;
                }
                chart.draw_series(
                    points
                        .iter()
                        .map(|(i, v)| Circle::new((*i as f64, *v), 3, INDIGO.filled())),
                )?;
            }
        }
        // Every day gets a hover target spanning its column, even a day without data.
        let step = chart.backend_coord(&(1.0, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0;
        for (i, (day, v)) in t.days.iter().zip(&t.values).enumerate() {
            let (x, bottom) = chart.backend_coord(&(i as f64, 0.0));
            let (_, top_px) = chart.backend_coord(&(i as f64, top));
            targets.push(format!(
                r#"<rect class="chart-point" x="{}" y="{top_px}" width="{}" height="{}" fill="transparent"><title>{}: {}{}</title></rect>"#,
                x - step / 2,
                step.max(1),
                (bottom - top_px).max(1),
                escape(&day_label(*day)),
                escape(&value_label(t, *v)),
                if v.is_some() && t.unit != "USD" {
                    format!(" {}", escape(&t.unit.to_lowercase()))
                } else {
                    String::new()
                },
            ));
        }
        root.present()?;
    }
    let overlay = format!("<g>{}</g></svg>", targets.concat());
    Ok(match svg.rfind("</svg>") {
        Some(at) => format!("{}{overlay}", &svg[..at]),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn trend(shape: Shape, values: Vec<Option<f64>>) -> Trend {
        let days = (0..values.len() as i64)
            .map(|i| date!(2026 - 11 - 18) + time::Duration::days(i))
            .collect();
        Trend {
            id: "t",
            title: "Tasks delivered per day",
            unit: "Tasks",
            shape,
            days,
            values,
            decimals: 0,
        }
    }

    #[test]
    fn a_chart_has_axes_a_unit_and_a_titled_target_per_day() {
        let c = render(&trend(
            Shape::Bars,
            vec![Some(3.0), Some(0.0), None, Some(12.0)],
        ));
        assert!(
            c.svg.starts_with("<svg"),
            "{}",
            &c.svg[..40.min(c.svg.len())]
        );
        assert!(c.svg.ends_with("</svg>"));
        assert_eq!(c.svg.matches("<title>").count(), 4);
        assert!(
            c.svg.contains("<title>21 Nov: 12 tasks</title>"),
            "{}",
            c.svg
        );
        assert!(
            c.svg.contains("<title>20 Nov: no data</title>"),
            "a gap says so"
        );
        assert!(c.svg.contains(">\nTasks\n<"), "the unit labels the axis");
        assert!(c.svg.contains(">\n18 Nov\n<"), "days label the x axis");
        assert_eq!(c.rows[3], ("21 Nov".to_owned(), "12".to_owned()));
    }

    #[test]
    fn a_line_chart_draws_points_and_survives_all_gaps() {
        let c = render(&trend(Shape::Line, vec![Some(70.5), None, Some(80.0)]));
        assert_eq!(c.svg.matches("<circle").count(), 2);
        let empty = render(&trend(Shape::Line, vec![None, None]));
        assert_eq!(empty.svg.matches("<title>").count(), 2);
    }

    #[test]
    fn an_empty_day_reads_zero_not_minus_zero() {
        let empty: f64 = std::iter::empty::<f64>().sum();
        let c = render(&trend(Shape::Bars, vec![Some(empty)]));
        assert_eq!(c.rows[0].1, "0");
        assert!(c.svg.contains(": 0 tasks</title>"), "{}", c.svg);
    }

    #[test]
    fn money_is_shown_in_dollars() {
        let mut t = trend(Shape::Bars, vec![Some(1.5)]);
        t.unit = "USD";
        t.decimals = 2;
        assert_eq!(render(&t).rows[0].1, "$1.50");
    }
}
