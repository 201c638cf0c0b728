/* Replaces pydata-sphinx-theme's scripts/fontawesome.js (Font Awesome's SVG+JS build, 1.5 MB),
   which its template loads on every page only so that a site can add custom icons; this book
   adds none. The theme's icons are drawn by the Font Awesome CSS and web fonts that
   pydata-sphinx-theme.css already loads. (_config.yml: html_static_path.) */
