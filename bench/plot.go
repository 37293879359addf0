package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"sort"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// plot draws two panels against the number of containers running: the
// time each lxc-start -d took (dots, and a running median as a line), and
// the host memory per running container. One colour per toolset.
func plot(file string, results []scaleResult) error {
	const w, h = 1000, 800
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	colours := []color.RGBA{{0x1f, 0x6f, 0xd0, 0xff}, {0xd0, 0x3a, 0x1f, 0xff}, {0x2a, 0x9d, 0x3a, 0xff}}
	maxN, maxMS, maxMiB := 1, 1.0, 0.1
	for _, r := range results {
		for _, p := range r.points {
			maxN = max(maxN, p.running)
			maxMiB = math.Max(maxMiB, float64(p.hostKB)/1024/float64(p.running))
		}
		maxMS = math.Max(maxMS, quantile(r.points, 0.99))
	}
	top := panel{img: img, x0: 80, y0: 40, w: w - 120, h: 300, maxX: float64(maxN), maxY: niceCeil(maxMS),
		title: "lxc-start -d time (ms) against containers running", unit: "ms"}
	bottom := panel{img: img, x0: 80, y0: 450, w: w - 120, h: 260, maxX: float64(maxN), maxY: niceCeil(maxMiB),
		title: "host memory per running container (MiB, MemAvailable drop)", unit: "MiB"}
	top.axes()
	bottom.axes()
	for i, r := range results {
		c := colours[i%len(colours)]
		light := color.RGBA{c.R/2 + 0x7f, c.G/2 + 0x7f, c.B/2 + 0x7f, 0xff}
		for _, p := range r.points {
			top.dot(float64(p.running), ms64(p.start), light)
		}
		var prevX, prevY float64 = -1, 0
		win := max(1, len(r.points)/50)
		for j := range r.points {
			lo, hi := max(0, j-win), min(len(r.points), j+win+1)
			var d []time.Duration
			for _, p := range r.points[lo:hi] {
				d = append(d, p.start)
			}
			x, y := float64(r.points[j].running), ms64(sorted(d).med())
			if prevX >= 0 {
				top.line(prevX, prevY, x, y, c)
			}
			prevX, prevY = x, y
		}
		prevX = -1
		for _, p := range r.points {
			if p.hostKB < 0 {
				continue
			}
			x, y := float64(p.running), float64(p.hostKB)/1024/float64(p.running)
			if prevX >= 0 {
				bottom.line(prevX, prevY, x, y, c)
			}
			prevX, prevY = x, y
		}
		label := r.label
		if r.stopped != "" {
			label += " (" + r.stopped + ")"
		}
		text(img, 80, h-30+14*i, label, c)
	}
	text(img, w/2-60, top.y0+top.h+34, "containers running", color.Black)
	text(img, w/2-60, bottom.y0+bottom.h+34, "containers running", color.Black)
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type panel struct {
	img         *image.RGBA
	x0, y0      int
	w, h        int
	maxX, maxY  float64
	title, unit string
}

func (p panel) px(x, y float64) (int, int) {
	y = math.Max(0, math.Min(y, p.maxY))
	return p.x0 + int(x/p.maxX*float64(p.w)), p.y0 + p.h - int(y/p.maxY*float64(p.h))
}

func (p panel) axes() {
	grey := color.RGBA{0xcc, 0xcc, 0xcc, 0xff}
	for k := 0; k <= 4; k++ {
		y := p.maxY * float64(k) / 4
		_, py := p.px(0, y)
		for x := p.x0; x <= p.x0+p.w; x++ {
			p.img.Set(x, py, grey)
		}
		text(p.img, p.x0-70, py+4, fmt.Sprintf("%7.1f", y), color.Black)
		xv := p.maxX * float64(k) / 4
		px, _ := p.px(xv, 0)
		text(p.img, px-10, p.y0+p.h+16, fmt.Sprintf("%.0f", xv), color.Black)
	}
	for y := p.y0; y <= p.y0+p.h; y++ {
		p.img.Set(p.x0, y, color.Black)
	}
	text(p.img, p.x0, p.y0-10, p.title, color.Black)
}

func (p panel) dot(x, y float64, c color.Color) {
	px, py := p.px(x, y)
	for dx := -1; dx <= 1; dx++ {
		for dy := -1; dy <= 1; dy++ {
			p.img.Set(px+dx, py+dy, c)
		}
	}
}

func (p panel) line(x1, y1, x2, y2 float64, c color.Color) {
	ax, ay := p.px(x1, y1)
	bx, by := p.px(x2, y2)
	steps := max(abs(bx-ax), abs(by-ay), 1)
	for s := 0; s <= steps; s++ {
		x := ax + (bx-ax)*s/steps
		y := ay + (by-ay)*s/steps
		p.img.Set(x, y, c)
		p.img.Set(x, y+1, c)
	}
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func ms64(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile is the q-th quantile of the start times, so that one slow
// outlier does not flatten the plot.
func quantile(points []point, q float64) float64 {
	if len(points) == 0 {
		return 0
	}
	var v []float64
	for _, p := range points {
		v = append(v, ms64(p.start))
	}
	sort.Float64s(v)
	return v[int(q*float64(len(v)-1))]
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}
