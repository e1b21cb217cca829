//! `telescope doc [NAME]`: the reference of every script function.

/// Prints the reference (all functions by area, or one function in full); returns the exit status.
pub fn run(name: Option<&str>) -> u8 {
    let docs = crate::script::docs();
    match name {
        Some(n) => match docs.get(n) {
            Some(d) => {
                println!("{}", d.render());
                0
            }
            None => {
                eprintln!("telescope doc: no function named `{n}`");
                1
            }
        },
        None => {
            let mut area = String::new();
            for d in docs.all() {
                if d.area != area {
                    area = d.area.clone();
                    println!("\n## {area}\n");
                }
                println!(
                    "{:28} {}",
                    d.signatures
                        .first()
                        .map(|s| s.split(" ->").next().unwrap_or(s))
                        .unwrap_or(&d.name),
                    d.summary()
                );
            }
            0
        }
    }
}
