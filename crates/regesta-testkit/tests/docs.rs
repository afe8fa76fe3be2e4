//! The docs' tables render as tables: a blank line inside a Markdown table
//! ends it, and the rows after it render as plain text.

/// The lines of the table that starts at the line equal to `header`, up to
/// the next heading.
fn table_section<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|line| line.trim() != header)
        .take_while(|line| !line.starts_with('#'))
        .collect()
}

/// Every line from the header to the last row is a row: no blank line
/// splits the table.
fn assert_one_table(file: &str, header: &str) {
    let path = regesta_testkit::workspace_root().join(file);
    let text = std::fs::read_to_string(&path).expect("the doc exists");
    let section = table_section(&text, header);
    assert!(!section.is_empty(), "{file}: no table headed {header}");
    let last_row = section
        .iter()
        .rposition(|line| line.starts_with('|'))
        .expect("the table has rows");
    let rows = &section[..=last_row];
    let broken: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('|'))
        .map(|(i, _)| i)
        .collect();
    assert!(
        broken.is_empty(),
        "{file}: the table headed {header} is split at rows {broken:?}"
    );
    assert!(rows.len() > 10, "{file}: the matrix lost its rows");
}

#[test]
fn the_hostile_input_matrix_is_one_table() {
    assert_one_table("docs/security.md", "| input | expected | test |");
}

#[test]
fn the_compatibility_tables_are_whole() {
    assert_one_table(
        "docs/compatibility.md",
        "| area | reference | Regesta | why |",
    );
}
