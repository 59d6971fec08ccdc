//! Build script: on Windows, embeds the application manifest: version 6 of the common
//! controls (today's look for the tray menu), per-monitor DPI awareness (a crisp tray
//! icon on scaled displays), long paths (shoot folders nested past 260 characters) and
//! UTF-8 as the code page. Nothing happens for other targets.

fn main() {
    if std::env::var_os("CARGO_CFG_WINDOWS").is_some() {
        embed_manifest::embed_manifest(embed_manifest::new_manifest("Imagen.ImagenSync"))
            .expect("cannot embed the Windows application manifest");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
