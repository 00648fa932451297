// libvips for Swift. Most libvips operations are C variadic functions (optional arguments as
// name/value pairs ending in NULL), which Swift cannot call; each wrapper below fixes the optional
// arguments Totem uses. Wrappers return 0 on success and -1 with the libvips error buffer set.
#ifndef TOTEM_CVIPS_SHIM_H
#define TOTEM_CVIPS_SHIM_H

#include <vips/vips.h>

/// Starts libvips once per process (idempotent); 0 on success. The operation cache is turned off:
/// Totem never repeats an operation, and a cached load would keep referring to a caller's buffer
/// after the decode that lent it has returned.
static inline int cvips_init(void) {
    if (VIPS_INIT("totem") != 0) return -1;
    vips_cache_set_max(0);
    return 0;
}

/// The loader libvips would pick for these bytes (e.g. "VipsForeignLoadJpegBuffer"), or NULL.
static inline const char *cvips_find_load_buffer(const void *data, size_t size) {
    return vips_foreign_find_load_buffer(data, size);
}

/// Opens encoded bytes lazily, failing on truncated or corrupt data rather than guessing pixels.
/// The bytes must stay valid until the image and every image derived from it are released.
static inline VipsImage *cvips_new_from_buffer(const void *data, size_t size) {
    return vips_image_new_from_buffer(data, size, "", "fail_on", VIPS_FAIL_ON_ERROR, NULL);
}

/// Raw 8-bit pixels, bands interleaved, copied into a new image.
static inline VipsImage *cvips_new_from_uchar(const void *data, size_t size, int width, int height, int bands) {
    return vips_image_new_from_memory_copy(data, size, width, height, bands, VIPS_FORMAT_UCHAR);
}

static inline int cvips_autorot(VipsImage *in, VipsImage **out) { return vips_autorot(in, out, NULL); }

static inline int cvips_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space) {
    return vips_colourspace(in, out, space, NULL);
}

static inline int cvips_colourspace_srgb(VipsImage *in, VipsImage **out) {
    return cvips_colourspace(in, out, VIPS_INTERPRETATION_sRGB);
}

static inline int cvips_cast_uchar(VipsImage *in, VipsImage **out) { return vips_cast_uchar(in, out, NULL); }

/// Composites the alpha band over a uniform background of `value` in every band.
static inline int cvips_flatten(VipsImage *in, VipsImage **out, double value) {
    double ink[4] = { value, value, value, value };
    VipsArrayDouble *background = vips_array_double_new(ink, in->Bands > 4 ? 4 : in->Bands - 1);
    int result = vips_flatten(in, out, "background", background, NULL);
    vips_area_unref(VIPS_AREA(background));
    return result;
}

static inline int cvips_extract_bands(VipsImage *in, VipsImage **out, int first, int count) {
    return vips_extract_band(in, out, first, "n", count, NULL);
}

/// Pixel values at (x, y), one per band; free `*vector` with g_free.
static inline int cvips_getpoint(VipsImage *in, double **vector, int *n, int x, int y) {
    return vips_getpoint(in, vector, n, x, y, NULL);
}

/// Bounding box of the pixels that differ from `background` (one value per band, `n` values) by
/// more than `threshold`, after libvips' median smoothing.
static inline int cvips_find_trim(VipsImage *in, double threshold, const double *background, int n,
                                  int *left, int *top, int *width, int *height) {
    VipsArrayDouble *bg = vips_array_double_new(background, n);
    int result = vips_find_trim(in, left, top, width, height, "threshold", threshold, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    return result;
}

static inline int cvips_crop(VipsImage *in, VipsImage **out, int left, int top, int width, int height) {
    return vips_extract_area(in, out, left, top, width, height, NULL);
}

/// out = matrix x bands per pixel; `coefficients` is one row of `n` values (a weighted band sum).
static inline int cvips_recomb_row(VipsImage *in, VipsImage **out, const double *coefficients, int n) {
    VipsImage *matrix = vips_image_new_matrix_from_array(n, 1, coefficients, n);
    if (!matrix) return -1;
    int result = vips_recomb(in, out, matrix, NULL);
    g_object_unref(matrix);
    return result;
}

/// Resamples by independent horizontal and vertical factors with `kernel` (anti-aliased when shrinking).
static inline int cvips_resize(VipsImage *in, VipsImage **out, double hscale, double vscale, VipsKernel kernel) {
    return vips_resize(in, out, hscale, "vscale", vscale, "kernel", kernel, NULL);
}

/// Pixels as one contiguous buffer; free with g_free.
static inline void *cvips_write_to_memory(VipsImage *in, size_t *size) {
    return vips_image_write_to_memory(in, size);
}

/// Encodes by file suffix with options, e.g. ".jpg[Q=50]", ".png", ".webp[Q=90]", ".tif"; free with g_free.
static inline int cvips_write_to_buffer(VipsImage *in, const char *suffix, void **buffer, size_t *size) {
    return vips_image_write_to_buffer(in, suffix, buffer, size, NULL);
}

// Image synthesis, for tests that need photograph-like pictures.

static inline int cvips_xyz(VipsImage **out, int width, int height) { return vips_xyz(out, width, height, NULL); }

static inline int cvips_gaussnoise(VipsImage **out, int width, int height, double sigma, int seed) {
    return vips_gaussnoise(out, width, height, "sigma", sigma, "mean", 0.0, "seed", seed, NULL);
}

/// out = in * a + b, per band (`n` values each, or 1 for all bands).
static inline int cvips_linear(VipsImage *in, VipsImage **out, const double *a, const double *b, int n) {
    return vips_linear(in, out, a, b, n, NULL);
}

static inline int cvips_add(VipsImage *left, VipsImage *right, VipsImage **out) { return vips_add(left, right, out, NULL); }

static inline int cvips_bandjoin3(VipsImage *a, VipsImage *b, VipsImage *c, VipsImage **out) {
    VipsImage *in[3] = { a, b, c };
    return vips_bandjoin(in, out, 3, NULL);
}

static inline int cvips_gaussblur(VipsImage *in, VipsImage **out, double sigma) { return vips_gaussblur(in, out, sigma, NULL); }

/// Draws in place on a memory image (see vips_image_new_from_memory_copy or vips_copy_memory).
static inline int cvips_draw_circle(VipsImage *image, const double *ink, int n, int cx, int cy, int radius) {
    return vips_draw_circle(image, (double *) ink, n, cx, cy, radius, "fill", TRUE, NULL);
}

static inline int cvips_draw_rect(VipsImage *image, const double *ink, int n, int left, int top, int width, int height) {
    return vips_draw_rect(image, (double *) ink, n, left, top, width, height, "fill", TRUE, NULL);
}

static inline VipsImage *cvips_copy_memory(VipsImage *in) { return vips_image_copy_memory(in); }

/// Adds an alpha band of constant `alpha` (0 transparent ... 255 opaque) to a uchar image.
static inline int cvips_add_alpha(VipsImage *in, VipsImage **out) { return vips_addalpha(in, out, NULL); }

/// Writes an EXIF orientation tag (1...8) that autorot and savers honour.
static inline void cvips_set_orientation(VipsImage *image, int orientation) {
    vips_image_set_int(image, VIPS_META_ORIENTATION, orientation);
}

static inline int cvips_rot90(VipsImage *in, VipsImage **out) { return vips_rot90(in, out, NULL); }

static inline int cvips_embed_white(VipsImage *in, VipsImage **out, int x, int y, int width, int height) {
    double white[3] = { 255, 255, 255 };
    VipsArrayDouble *bg = vips_array_double_new(white, in->Bands > 3 ? 3 : in->Bands);
    int result = vips_embed(in, out, x, y, width, height, "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    return result;
}

static inline void cvips_unref(VipsImage *image) { g_object_unref(image); }
static inline int cvips_width(const VipsImage *image) { return vips_image_get_width(image); }
static inline int cvips_height(const VipsImage *image) { return vips_image_get_height(image); }
static inline int cvips_bands(const VipsImage *image) { return vips_image_get_bands(image); }
static inline int cvips_hasalpha(VipsImage *image) { return vips_image_hasalpha(image); }
static inline VipsBandFormat cvips_format(const VipsImage *image) { return vips_image_get_format(image); }
static inline void cvips_free(void *pointer) { g_free(pointer); }
/// The libvips error messages since the last clear, then clears them.
static inline const char *cvips_error_buffer(void) { return vips_error_buffer(); }
static inline void cvips_error_clear(void) { vips_error_clear(); }

#endif
