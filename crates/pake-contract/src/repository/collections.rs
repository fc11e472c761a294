//! Collections: a paper held once per collection whatever key it comes by, items listed in the
//! order added, marks found in one query for readable collections only, never across tenants,
//! and a collection's items gone with it or with its tenant.

use pake_domain::collection::{
    Collection, CollectionFilter, CollectionItem, CollectionRef, Visibility,
};
use pake_domain::{CollectionId, CollectionItemId, DisplayName, PlanId, Role, TenantId, User};
use pake_ports::{RepoError, Repositories};

use super::page;
use crate::fixtures::{self, now};

fn collection(owner: &User, name: &str, visibility: Visibility) -> Collection {
    Collection {
        tenant_id: owner.tenant_id,
        id: CollectionId::new(),
        owner_id: owner.id,
        name: DisplayName::parse(name).unwrap(),
        description: Some("d\u{e9}j\u{e0} vu ' \" ;--".into()),
        visibility,
        item_count: 0,
        created_at: now(),
        updated_at: now(),
    }
}

fn item(c: &Collection, by: &User, keys: &[&str], seconds: i64) -> CollectionItem {
    CollectionItem {
        tenant_id: c.tenant_id,
        collection_id: c.id,
        id: CollectionItemId::new(),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        // an upstream's text may hold a NUL: the record keeps it
        record: serde_json::json!({"title": "Caf\u{e9} \u{0} {x} & 100%", "n": seconds}),
        tags: vec!["to read".into()],
        note: None,
        added_by: by.id,
        added_at: now() + time::Duration::seconds(seconds),
        updated_at: now() + time::Duration::seconds(seconds),
    }
}

fn refs(held: &[(String, CollectionRef)]) -> Vec<(String, CollectionId)> {
    let mut v: Vec<(String, CollectionId)> = held.iter().map(|(k, c)| (k.clone(), c.id)).collect();
    v.sort();
    v
}

/// The contract of [`pake_ports::CollectionRepository`].
pub async fn collections(r: &Repositories) {
    let t = fixtures::tenant("shelves", PlanId::Professional);
    let other = fixtures::tenant("shelves-other", PlanId::Professional);
    r.tenants.create(&t).await.unwrap();
    r.tenants.create(&other).await.unwrap();
    let ann = fixtures::user(t.id, "ann", Role::User);
    let bob = fixtures::user(t.id, "bob", Role::User);
    let eve = fixtures::user(other.id, "eve", Role::Admin);
    for u in [&ann, &bob, &eve] {
        r.users.create(u, None).await.unwrap();
    }
    let mine = collection(&ann, "Reading list", Visibility::Private);
    r.collections.create(&mine).await.unwrap();
    assert!(matches!(
        r.collections.create(&mine).await,
        Err(RepoError::Conflict(_))
    ));
    let stranger = User {
        id: pake_domain::UserId::new(),
        ..ann.clone()
    };
    assert!(matches!(
        r.collections
            .create(&collection(&stranger, "No owner", Visibility::Private))
            .await,
        Err(RepoError::NotFound)
    ));
    let shared = collection(&bob, "Shared", Visibility::Tenant);
    r.collections.create(&shared).await.unwrap();

    // one paper, one item: a second add under any of its keys answers the first item
    let first = item(&mine, &ann, &["doi:10.1/x", "arxiv:2401.1"], 1);
    assert_eq!(r.collections.add_item(&first).await.unwrap(), first.id);
    let again = item(&mine, &ann, &["arxiv:2401.1", "pmid:9"], 2);
    assert_eq!(r.collections.add_item(&again).await.unwrap(), first.id);
    let second = item(&mine, &ann, &["pmid:7"], 3);
    assert_eq!(r.collections.add_item(&second).await.unwrap(), second.id);
    // the same paper in another collection is another item
    let elsewhere = item(&shared, &bob, &["doi:10.1/x"], 4);
    assert_eq!(
        r.collections.add_item(&elsewhere).await.unwrap(),
        elsewhere.id
    );
    // not into another tenant's collection
    let foreign = CollectionItem {
        tenant_id: other.id,
        ..item(&mine, &eve, &["doi:10.9/z"], 5)
    };
    assert!(r.collections.add_item(&foreign).await.is_err());

    let read = r.collections.find(t.id, mine.id).await.unwrap().unwrap();
    assert_eq!(read.item_count, 2);
    assert_eq!(read.description, mine.description);
    let items = r
        .collections
        .items(t.id, mine.id, page(10, 0))
        .await
        .unwrap();
    assert_eq!(items.total, 2);
    assert_eq!(
        items.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [first.id, second.id],
        "first added first"
    );
    assert_eq!(items.items[0].record, first.record);
    assert_eq!(items.items[0].keys, ["arxiv:2401.1", "doi:10.1/x"]);
    let one = r
        .collections
        .item(t.id, mine.id, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.tags, ["to read"]);

    // listing: a reader sees their own and the tenant-visible ones
    let all = r
        .collections
        .list(t.id, CollectionFilter::default(), page(10, 0))
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    let bobs = r
        .collections
        .list(
            t.id,
            CollectionFilter {
                reader: Some(bob.id),
            },
            page(10, 0),
        )
        .await
        .unwrap();
    assert_eq!(
        bobs.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [shared.id]
    );

    // marks: every holding readable collection, by key, in one call
    let keys: Vec<String> = ["doi:10.1/x", "pmid:7", "title:none"]
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    let held = r
        .collections
        .holding(t.id, &keys, CollectionFilter::default())
        .await
        .unwrap();
    let mut expect = vec![
        ("doi:10.1/x".to_owned(), mine.id),
        ("doi:10.1/x".to_owned(), shared.id),
        ("pmid:7".to_owned(), mine.id),
    ];
    expect.sort();
    assert_eq!(refs(&held), expect);
    let for_bob = r
        .collections
        .holding(
            t.id,
            &keys,
            CollectionFilter {
                reader: Some(bob.id),
            },
        )
        .await
        .unwrap();
    assert_eq!(refs(&for_bob), [("doi:10.1/x".to_owned(), shared.id)]);
    assert!(
        r.collections
            .holding(other.id, &keys, CollectionFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        r.collections
            .holding(t.id, &[], CollectionFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.collections
            .record_by_keys(t.id, &["pmid:7".into()])
            .await
            .unwrap(),
        Some(second.record.clone())
    );
    assert_eq!(
        r.collections
            .record_by_keys(other.id, &["pmid:7".into()])
            .await
            .unwrap(),
        None
    );

    // changes
    let renamed = Collection {
        name: DisplayName::parse("Renamed").unwrap(),
        visibility: Visibility::Tenant,
        description: None,
        ..read.clone()
    };
    r.collections.update(&renamed).await.unwrap();
    let back = r.collections.find(t.id, mine.id).await.unwrap().unwrap();
    assert_eq!(
        (back.name.as_str(), back.visibility, back.description),
        ("Renamed", Visibility::Tenant, None)
    );
    let tagged = CollectionItem {
        tags: vec!["core".into(), "é".into()],
        note: Some("Read first".into()),
        ..one.clone()
    };
    r.collections.update_item(&tagged).await.unwrap();
    let back = r
        .collections
        .item(t.id, mine.id, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.tags.clone(), back.note.clone()),
        (tagged.tags.clone(), tagged.note.clone())
    );

    // another tenant: nothing to read, change or delete
    assert!(
        r.collections
            .find(other.id, mine.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        r.collections
            .item(other.id, mine.id, first.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        r.collections
            .items(other.id, mine.id, page(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    let hijack = Collection {
        tenant_id: other.id,
        ..renamed.clone()
    };
    assert!(matches!(
        r.collections.update(&hijack).await,
        Err(RepoError::NotFound)
    ));
    let hijack_item = CollectionItem {
        tenant_id: other.id,
        ..tagged.clone()
    };
    assert!(matches!(
        r.collections.update_item(&hijack_item).await,
        Err(RepoError::NotFound)
    ));
    assert!(matches!(
        r.collections.delete_item(other.id, mine.id, first.id).await,
        Err(RepoError::NotFound)
    ));
    assert!(matches!(
        r.collections.delete(other.id, mine.id).await,
        Err(RepoError::NotFound)
    ));

    // removing an item frees its keys; deleting a collection takes its items
    r.collections
        .delete_item(t.id, mine.id, first.id)
        .await
        .unwrap();
    assert!(matches!(
        r.collections.delete_item(t.id, mine.id, first.id).await,
        Err(RepoError::NotFound)
    ));
    let readded = item(&mine, &ann, &["doi:10.1/x"], 6);
    assert_eq!(r.collections.add_item(&readded).await.unwrap(), readded.id);
    r.collections.delete(t.id, mine.id).await.unwrap();
    assert!(r.collections.find(t.id, mine.id).await.unwrap().is_none());
    assert_eq!(
        refs(
            &r.collections
                .holding(t.id, &keys, CollectionFilter::default())
                .await
                .unwrap()
        ),
        [("doi:10.1/x".to_owned(), shared.id)]
    );
    // and the tenant's purge takes the rest
    r.tenants.purge(t.id).await.unwrap();
    assert!(r.collections.find(t.id, shared.id).await.unwrap().is_none());
    let _: TenantId = other.id;
}
