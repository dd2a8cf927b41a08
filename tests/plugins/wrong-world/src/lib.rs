//! A valid WebAssembly component of a world that is not Stagehand's.

wit_bindgen::generate!({ world: "other", path: "wit" });

struct Other;

impl Guest for Other {
    fn hello() -> String {
        "not a plugin".into()
    }
}

export!(Other);

#[cfg(test)]
mod tests {
    #[test]
    fn it_answers_hello() {
        use super::Guest;
        assert_eq!(super::Other::hello(), "not a plugin");
    }
}
