// Life events carry an icon name from the catalog; each known name has a Lucide icon (inline SVG,
// drawn the same on every phone: no emoji font needed). Unknown names get a neutral one. The icon is
// decorative: the event's name is always shown as text beside it (that is the tile's accessible name).
import {
  Accessibility, Baby, Briefcase, Building2, Car, Coins, Construction, Droplet, Factory, Flower2, GraduationCap,
  Handshake, Heart, Hospital, House, IdCard, LogOut, Medal, PersonStanding, Pill, Plane, Plug, Receipt, School,
  Shield, Sparkles, Store, TrendingUp, Trees, Truck, Users, Utensils, Wheat, Zap,
} from "lucide-vue-next";

const ICONS = {
  heart: Heart, marriage: Heart, baby: Baby, birth: Baby, child: Baby, school: School, education: School,
  graduate: GraduationCap, job: Briefcase, work: Briefcase, briefcase: Briefcase, house: House, home: House,
  building: Building2, shop: Store, store: Store, business: Store, company: Building2, factory: Factory, car: Car,
  vehicle: Car, health: Hospital, medical: Hospital, hospital: Hospital, elder: PersonStanding,
  retire: PersonStanding, retirement: PersonStanding, death: Flower2, funeral: Flower2, candle: Flower2,
  tax: Receipt, receipt: Receipt, money: Coins, social: Shield, insurance: Shield, travel: Plane, passport: IdCard,
  id: IdCard, card: IdCard, farm: Wheat, agriculture: Wheat, tree: Trees, water: Droplet, power: Zap,
  construction: Construction, project: Construction, crane: Construction, food: Utensils, restaurant: Utensils,
  utensils: Utensils, pill: Pill, pharmacy: Pill, plug: Plug, users: Users, family: Users,
  "trending-up": TrendingUp, "log-out": LogOut, hands: Handshake, disability: Accessibility, military: Medal,
  veteran: Medal, move: Truck,
};

/** The icon component of a life event (a neutral one for names the app does not know). */
export function lifeEventIcon(ev) {
  return ICONS[ev?.icon] || Sparkles;
}
