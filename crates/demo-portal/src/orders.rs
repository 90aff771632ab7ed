//! Sample curtailment orders ("ordres d'effacement"): stop or limitation instructions for a
//! producer's installations. Derived from the producer's subject alone, so that the same user
//! always sees the same orders and tests can predict them; no storage, no clock.

use serde::{Deserialize, Serialize};

/// The producers whose orders make up the sample set a service account sees.
const SAMPLE_PRODUCERS: [&str; 3] = [
    "producteur-exemple-1",
    "producteur-exemple-2",
    "producteur-exemple-3",
];

/// One instruction to stop or limit an installation's production for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurtailmentOrder {
    /// The order's reference, such as `OE-2026-3F2A91C0`.
    pub id: String,
    /// The subject of the producer the order is for.
    pub producer: String,
    /// The installation's reference, such as `PV-04213`.
    pub installation: String,
    /// Stop or limit.
    pub kind: OrderKind,
    /// The start of the period, in RFC 3339 (UTC).
    pub start: String,
    /// The end of the period, in RFC 3339 (UTC).
    pub end: String,
    /// The most the installation may inject during the period, in kW; 0 for a stop.
    pub max_power_kw: u32,
}

/// What an order asks of the installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// No injection at all during the period.
    Stop,
    /// Injection up to `max_power_kw` during the period.
    Limitation,
}

/// The body of `GET /api/ordres-effacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersResponse {
    /// The orders the token may see, by start time.
    pub orders: Vec<CurtailmentOrder>,
}

/// The orders of one producer: three to five, in June 2026, by start time.
pub fn orders_for_producer(subject: &str) -> Vec<CurtailmentOrder> {
    let seed = fnv1a(subject.as_bytes());
    let count = 3 + seed % 3;
    let installation_count = 1 + (seed >> 8) % 2;
    let mut orders: Vec<CurtailmentOrder> = (0..count)
        .map(|index| {
            let bits = mix(seed.wrapping_add(index));
            let day = 1 + bits % 28;
            let start_hour = 8 + (bits >> 8) % 8;
            let hours = 1 + (bits >> 16) % 4;
            let kind = if (bits >> 24).is_multiple_of(3) {
                OrderKind::Stop
            } else {
                OrderKind::Limitation
            };
            let max_power_kw = match kind {
                OrderKind::Stop => 0,
                OrderKind::Limitation => 50 * (1 + ((bits >> 32) % 20) as u32),
            };
            let installation_number =
                (seed >> 16).wrapping_add(index % installation_count) % 100_000;
            CurtailmentOrder {
                id: format!("OE-2026-{:08X}", (bits >> 40) as u32 ^ index as u32),
                producer: subject.to_owned(),
                installation: format!("PV-{installation_number:05}"),
                kind,
                start: format!("2026-06-{day:02}T{start_hour:02}:00:00Z"),
                end: format!("2026-06-{day:02}T{:02}:00:00Z", start_hour + hours),
                max_power_kw,
            }
        })
        .collect();
    orders.sort_by(|left, right| left.start.cmp(&right.start).then(left.id.cmp(&right.id)));
    orders
}

/// Every order of the sample producers, by start time: what a service account sees.
pub fn all_sample_orders() -> Vec<CurtailmentOrder> {
    let mut orders: Vec<CurtailmentOrder> = SAMPLE_PRODUCERS
        .iter()
        .flat_map(|producer| orders_for_producer(producer))
        .collect();
    orders.sort_by(|left, right| left.start.cmp(&right.start).then(left.id.cmp(&right.id)));
    orders
}

/// FNV-1a, 64 bits: a stable hash (std's `DefaultHasher` may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finaliser: spreads a seed's bits over the whole word.
fn mix(value: u64) -> u64 {
    let mut value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_producer_always_gets_the_same_orders() {
        let first = orders_for_producer("2f6c0a52-6d1e-4b7a-9d55-0d1b8a1c4e77");
        assert_eq!(
            first,
            orders_for_producer("2f6c0a52-6d1e-4b7a-9d55-0d1b8a1c4e77")
        );
        assert!((3..=5).contains(&first.len()), "{first:?}");
        assert_ne!(first, orders_for_producer("another-producer"));
    }

    #[test]
    fn orders_are_well_formed_and_sorted() {
        for producer in ["a", "b", "alice", "producteur-exemple-2", "ünïcødé"] {
            let orders = orders_for_producer(producer);
            for order in &orders {
                assert_eq!(order.producer, producer);
                assert!(order.start < order.end, "{order:?}");
                assert_eq!(order.start.len(), "2026-06-01T08:00:00Z".len(), "{order:?}");
                assert_eq!(
                    order.kind == OrderKind::Stop,
                    order.max_power_kw == 0,
                    "{order:?}"
                );
            }
            assert!(orders.windows(2).all(|pair| pair[0].start <= pair[1].start));
        }
    }

    #[test]
    fn the_sample_set_is_every_sample_producers_orders() {
        let all = all_sample_orders();
        let expected: usize = SAMPLE_PRODUCERS
            .iter()
            .map(|producer| orders_for_producer(producer).len())
            .sum();
        assert_eq!(all.len(), expected);
    }
}
