use regesta_protocol::keys::{SshEd25519Key, sign_sshsig};
use regesta_protocol::{
    DomainBinding, EventKeyOrder, OwnerDomain, ProofKey, SealedEvent, WriteAuthorization,
};
use regesta_testkit::{read, read_json, vectors_dir};

#[test]
fn ssh_kid_is_derived_from_the_key_blob() {
    let dir = vectors_dir();
    let line = String::from_utf8(read(&dir, "publish-ssh/public-key.txt")).unwrap();
    let kid = String::from_utf8(read(&dir, "publish-ssh/kid.txt")).unwrap();
    let key = SshEd25519Key::parse(&line).unwrap();
    assert_eq!(key.kid(), kid.trim());
    assert!(!key.line().contains("regesta-test"), "comment is dropped");
}

#[test]
fn ssh_signed_publish_and_channel_write_verify() {
    let dir = vectors_dir();
    let binding_bytes = read(&dir, "publish-ssh/domain-binding.json");
    let domain = OwnerDomain::parse("dev.localhost").unwrap();
    let binding = DomainBinding::parse(&binding_bytes, &domain).unwrap();
    let publish =
        WriteAuthorization::from_json(&read_json(&dir, "publish-ssh/part-authorization.json"))
            .unwrap();
    let channel_request = read_json(&dir, "publish-ssh/channel-beta-create.request.json");
    let channel = WriteAuthorization::from_json(&channel_request["authorization"]).unwrap();
    for (auth, signed_file) in [
        (&publish, "publish-ssh/authorization-payload.canonical.json"),
        (
            &channel,
            "publish-ssh/channel-beta-create.authorization-payload.canonical.json",
        ),
    ] {
        let key = binding
            .active_key(&auth.kid, auth.payload.timestamp)
            .expect("ssh kid in binding");
        let ProofKey::Ssh(ssh) = &key.key else {
            panic!("expected ssh key")
        };
        let message = auth.payload.signing_bytes().unwrap();
        assert_eq!(message, read(&dir, signed_file));
        ssh.verify(&message, auth.signature.text()).unwrap();
        let mut tampered = message.clone();
        tampered[3] ^= 1;
        assert!(ssh.verify(&tampered, auth.signature.text()).is_err());
    }
}

#[test]
fn ssh_events_keep_the_armored_signature_and_reproduce() {
    let dir = vectors_dir();
    for file in [
        "publish-ssh/event-release-6a8cc099.json",
        "publish-ssh/event-channel-0d135655.json",
    ] {
        let raw = read(&dir, file);
        let event = SealedEvent::from_json(&serde_json::from_slice(&raw).unwrap()).unwrap();
        assert_eq!(event.served_bytes().unwrap(), raw, "{file}");
    }
    let raw = read(&dir, "publish-ssh/events-page.json");
    let page: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let events: Vec<_> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            SealedEvent::from_json(e)
                .unwrap()
                .to_json(EventKeyOrder::Stored)
        })
        .collect();
    let mut rebuilt = serde_json::Map::new();
    rebuilt.insert("events".into(), serde_json::Value::Array(events));
    if let Some(next) = page.get("nextAfter") {
        rebuilt.insert("nextAfter".into(), next.clone());
    }
    assert_eq!(serde_json::to_vec(&rebuilt).unwrap(), raw);
}

#[test]
fn our_sshsig_signatures_verify_and_use_the_regesta_namespace() {
    let dir = vectors_dir();
    let private = String::from_utf8(read(&dir, "publish-ssh/id_ed25519")).unwrap();
    let key = ssh_key::PrivateKey::from_openssh(&private).unwrap();
    let public = SshEd25519Key::parse(&key.public_key().to_openssh().unwrap()).unwrap();
    let armored = sign_sshsig(&key, b"hello").unwrap();
    assert!(!armored.ends_with('\n'));
    public.verify(b"hello", &armored).unwrap();
    assert!(public.verify(b"hellO", &armored).is_err());
}
