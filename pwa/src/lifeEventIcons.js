// Life events carry an icon name from the catalog; show a pictogram for the known ones and the
// first character of the name otherwise (decorative: the name is always shown as text).
const ICONS = {
  heart: "💞", marriage: "💞", baby: "👶", birth: "👶", child: "👶", school: "🎒", education: "🎒",
  graduate: "🎓", job: "💼", work: "💼", briefcase: "💼", house: "🏠", home: "🏠", building: "🏢",
  shop: "🏪", store: "🏪", business: "🏪", company: "🏢", factory: "🏭", car: "🚗", vehicle: "🚗",
  health: "🏥", medical: "🏥", hospital: "🏥", elder: "🧓", retire: "🧓", retirement: "🧓",
  death: "🕯️", funeral: "🕯️", tax: "🧾", money: "💰", social: "🛡️", insurance: "🛡️",
  travel: "✈️", passport: "🛂", id: "🪪", card: "🪪", farm: "🌾", agriculture: "🌾", tree: "🌳",
  water: "💧", power: "⚡", construction: "🏗️", project: "🏗️", food: "🍜", restaurant: "🍜",
  utensils: "🍜", pill: "💊", pharmacy: "💊", plug: "🔌", users: "👥", receipt: "🧾",
  "trending-up": "📈", crane: "🏗️", "log-out": "🚪", hands: "🤝", candle: "🕯️",
  disability: "♿", military: "🎖️", veteran: "🎖️", move: "🚚", family: "👪",
};

export function lifeEventIcon(ev) {
  return ICONS[ev?.icon] || (ev?.name || "?").slice(0, 1);
}
