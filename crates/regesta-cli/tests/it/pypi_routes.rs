//! The PyPI Simple API's routes as the PEPs describe them, checked over
//! HTTP on the registry the pip and uv test published to
//! ([`crate::pypi_clients`]): a.localhost holds demo-lib 1.0 and 2.0 and
//! demo-spare 1.0.

/// One request without following redirects: status, headers, body.
async fn fetch(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
        .to_str()
        .unwrap()
}

/// The Simple API's routes as the PEPs describe them: slash and name
/// redirects, content negotiation, validators, HEAD, and the file and
/// PEP 658 metadata redirects to content-addressed objects.
pub(crate) async fn simple_routes(base: &str, index: &str) {
    use reqwest::Method;
    let json = ("accept", "application/vnd.pypi.simple.v1+json");
    let (status, headers, _) = fetch(Method::GET, index.trim_end_matches('/'), &[]).await;
    assert_eq!((status, header(&headers, "location")), (301, "simple/"));
    let (status, headers, _) = fetch(Method::GET, &format!("{index}Demo_Lib"), &[]).await;
    assert_eq!((status, header(&headers, "location")), (301, "demo-lib/"));
    let (status, headers, _) = fetch(Method::GET, &format!("{index}Demo.Lib/"), &[]).await;
    assert_eq!(
        (status, header(&headers, "location")),
        (301, "../demo-lib/")
    );

    let (status, headers, body) = fetch(Method::GET, index, &[json]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), json.1);
    let listed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = listed["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|project| project["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo-lib", "demo-spare"], "only a.localhost's");
    let (status, _, body) = fetch(Method::GET, index, &[("accept", "application/xml")]).await;
    assert_eq!(status, 406, "{}", String::from_utf8_lossy(&body));
    let missing = format!("{index}no-such-project/");
    assert_eq!(fetch(Method::GET, &missing, &[]).await.0, 404);

    let page = format!("{index}demo-lib/");
    let html_accept = ("accept", "application/vnd.pypi.simple.v1+html");
    let (status, headers, body) = fetch(Method::GET, &page, &[html_accept]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), html_accept.1);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("data-requires-python=\"&gt;=4\""), "{html}");
    assert!(html.contains("data-dist-info-metadata=\"sha256="), "{html}");
    let (status, headers, body) = fetch(Method::GET, &page, &[json]).await;
    assert_eq!(status, 200);
    let etag = header(&headers, "etag").to_owned();
    assert_eq!(header(&headers, "vary"), "Accept");
    let (status, _, empty) = fetch(Method::GET, &page, &[json, ("if-none-match", &etag)]).await;
    assert_eq!((status, empty.len()), (304, 0));
    let html_etag = [html_accept, ("if-none-match", etag.as_str())];
    let (status, _, _) = fetch(Method::GET, &page, &html_etag).await;
    assert_eq!(status, 200, "one validator per format");
    let (status, headers, empty) = fetch(Method::HEAD, &page, &[json]).await;
    assert_eq!((status, empty.len()), (200, 0));
    assert_eq!(header(&headers, "etag"), etag);

    let listed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut versions: Vec<&str> = listed["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, ["1.0", "2.0"], "1.0.0 was refused");
    let wheel = listed["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["filename"] == "demo_lib-1.0-py3-none-any.whl")
        .unwrap();
    let url = format!("{page}{}", wheel["url"].as_str().unwrap());
    let (status, headers, _) = fetch(Method::GET, &url, &[]).await;
    assert_eq!(status, 302);
    let hash = wheel["hashes"]["sha256"].as_str().unwrap();
    let object = format!("{base}/objects/sha256:{hash}");
    assert_eq!(header(&headers, "location"), object);
    let (status, headers, _) = fetch(Method::GET, &format!("{url}.metadata"), &[]).await;
    assert_eq!(status, 302);
    let metadata = header(&headers, "location").to_owned();
    let expected = wheel["core-metadata"]["sha256"].as_str().unwrap();
    assert!(metadata.ends_with(expected), "{metadata}");
    let (status, _, body) = fetch(Method::GET, &metadata, &[]).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("Name: demo-lib\n") && text.contains("Version: 1.0\n"),
        "{text}"
    );
    let other = url.replace("1.0-py3", "9.9-py3");
    assert_eq!(fetch(Method::GET, &other, &[]).await.0, 404);
}
