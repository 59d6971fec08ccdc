//! Build script: on Windows, embeds the application manifest. It asks for version 6 of
//! the common controls (the tray's event loop subclasses its window, which needs them),
//! per-monitor DPI awareness (crisp tray icons on scaled displays), long paths and UTF-8.
//! Nothing happens for other targets.

fn main() {
    if std::env::var_os("CARGO_CFG_WINDOWS").is_some() {
        embed_manifest::embed_manifest(embed_manifest::new_manifest("Imagen.ImagenSync"))
            .expect("cannot embed the Windows application manifest");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
