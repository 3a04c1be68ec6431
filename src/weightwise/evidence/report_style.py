"""The style sheet of report.html: readable at 1280 px and on a phone, nothing wider than the window."""

# Figures are drawn at most 9.6 inches (960 px) wide, so at this width they are shown at their
# own size (nothing shrinks); tables wrap their headers and scroll inside their own box if need be.
CSS = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:62rem;margin:2rem auto;
padding:0 1rem;color:#1f2328;line-height:1.5;overflow-wrap:break-word}
h1{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;font-size:1.8rem}
h2{margin-top:2.2rem}
.table-wrap{max-width:100%;overflow-x:auto;margin:1rem 0}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;vertical-align:top}
th{background:#f6f8fa;text-align:left;font-weight:600}
td{overflow-wrap:anywhere}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0}
details{margin:1rem 0}
summary{cursor:pointer;font-weight:600;color:#0969da}
figure{margin:1.5rem 0}
img{display:block;max-width:100%;height:auto}
figcaption{color:#57606a;font-size:.9rem;margin-top:.3rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa}
pre{padding:.6rem;overflow-x:auto;white-space:pre}
dl.keys{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.6rem;margin:1rem 0}
dl.keys div{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .7rem;background:#f6f8fa}
dl.keys dt{font-size:.85rem;color:#57606a}
dl.keys dd{margin:0;font-size:1.4rem;font-weight:600;font-variant-numeric:tabular-nums}
footer{margin-top:3rem;color:#57606a;font-size:.85rem}
""".strip()
