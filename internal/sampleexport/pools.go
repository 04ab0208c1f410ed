package sampleexport

// The pools below are the raw material of a bundle. Every place name,
// postcode district and county is real so that addresses look right; every
// person, firm, lender and agent is invented, and every email, phone number
// and website sits in a range reserved for fiction (example domains, Ofcom's
// drama numbers).

var maleNames = []string{
	"Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
	"James", "Leo", "Alfie", "Henry", "Joshua", "Freddie", "Archie", "Ethan", "Isaac", "Alexander",
	"Joseph", "Edward", "Samuel", "Max", "Daniel", "Arthur", "Lucas", "Mohammed", "Logan", "Theo",
	"David", "Michael", "Paul", "Andrew", "Mark", "Richard", "Stephen", "Christopher", "Robert", "Peter",
	"Rhys", "Owen", "Callum", "Ewan", "José", "Ravi",
}

var femaleNames = []string{
	"Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella",
	"Lily", "Evie", "Isabella", "Sophie", "Ivy", "Freya", "Harper", "Willow", "Charlotte", "Jessica",
	"Sarah", "Rebecca", "Laura", "Emma", "Hannah", "Rachel", "Claire", "Helen", "Joanne", "Nicola",
	"Priya", "Aisha", "Fatima", "Siobhan", "Niamh", "Catrin", "Zoë", "Chloé", "Siân", "Renée",
}

var surnames = []string{
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
	"Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
	"Patel", "Khan", "Lewis", "Harris", "Martin", "Cooper", "King", "Lee", "Baker", "Hill",
	"Turner", "Moore", "Ward", "Morris", "Hughes", "Edwards", "Allen", "Scott", "Mitchell", "Carter",
	"Shaw", "Marshall", "Holmes", "Lloyd", "Hussain", "Ahmed", "Begum", "Ali", "Singh", "Kaur",
	"Sutcliffe", "Ackroyd", "Hargreaves", "Greenwood", "Barraclough", "Holroyd", "Ramsbottom", "Butterworth", "Entwistle", "Whitworth",
	"O'Brien", "O'Connor", "McDonald", "MacLeod", "Fitzgerald", "Smith-Jones", "Lloyd-Davies", "Brontë", "Müller", "Nuñez",
}

var titlesMale = []string{"Mr", "Mr", "Mr", "Mr", "Mr", "Mr", "Dr"}
var titlesFemale = []string{"Mrs", "Ms", "Miss", "Mrs", "Ms", "Mrs", "Dr"}

var clientDomains = []string{"example.com", "example.co.uk", "example.org"}

// firmDomain is the fee earners' domain.
const firmDomain = "example-law.co.uk"

// firmName is the firm that made the export.
const firmName = "Example Conveyancing LLP"

var streetNames = []string{
	"Mill", "Church", "Station", "Victoria", "Albert", "Park", "High", "Chapel", "Kings", "Queens",
	"Manor", "Grange", "Oak", "Elm", "Beech", "Willow", "Ash", "Meadow", "Springfield", "Moorland",
	"Otley", "Headingley", "Harrogate", "Wellington", "Cardigan", "Ilkley", "Wilmslow", "Palatine", "Burton", "Barlow Moor",
	"St John's", "St Mary's", "Hawthorn", "Cedar", "Riverside", "Canal", "Bridge", "Market", "Castle", "Abbey",
}

var streetKinds = []string{"Lane", "Road", "Street", "Avenue", "Close", "Drive", "Grove", "Terrace", "Crescent", "Way", "Gardens", "Mews"}

// place is a town with the outward codes of its postcode district and its
// county; area names fill address_line2 now and then.
type place struct {
	Town    string
	County  string
	Outward []string
	Areas   []string
}

var places = []place{
	{"Leeds", "West Yorkshire", []string{"LS1", "LS2", "LS4", "LS6", "LS7", "LS8", "LS11", "LS12", "LS16", "LS17", "LS18", "LS28"}, []string{"Headingley", "Chapel Allerton", "Roundhay", "Horsforth", "Kirkstall", "Meanwood", "Pudsey"}},
	{"Bradford", "West Yorkshire", []string{"BD1", "BD2", "BD3", "BD9", "BD10", "BD18"}, []string{"Shipley", "Saltaire", "Heaton"}},
	{"Wakefield", "West Yorkshire", []string{"WF1", "WF2", "WF3", "WF4"}, []string{"Sandal", "Outwood"}},
	{"Huddersfield", "West Yorkshire", []string{"HD1", "HD2", "HD3", "HD4"}, []string{"Lindley", "Marsh"}},
	{"Harrogate", "North Yorkshire", []string{"HG1", "HG2", "HG3"}, []string{"Starbeck", "Pannal"}},
	{"York", "North Yorkshire", []string{"YO1", "YO10", "YO23", "YO24", "YO31"}, []string{"Acomb", "Heworth", "Fulford"}},
	{"Sheffield", "South Yorkshire", []string{"S1", "S7", "S10", "S11", "S17"}, []string{"Ecclesall", "Crookes", "Nether Edge"}},
	{"Manchester", "Greater Manchester", []string{"M1", "M4", "M14", "M16", "M19", "M20", "M21", "M22"}, []string{"Didsbury", "Chorlton", "Withington", "Levenshulme", "Ancoats"}},
	{"Salford", "Greater Manchester", []string{"M3", "M5", "M6", "M50"}, []string{"Pendleton", "Ordsall"}},
	{"Stockport", "Greater Manchester", []string{"SK1", "SK2", "SK3", "SK4", "SK7"}, []string{"Heaton Moor", "Bramhall", "Cheadle Hulme"}},
	{"Bolton", "Greater Manchester", []string{"BL1", "BL2", "BL3"}, []string{"Heaton", "Bromley Cross"}},
	{"Oldham", "Greater Manchester", []string{"OL1", "OL4", "OL8"}, []string{"Saddleworth", "Chadderton"}},
	{"Altrincham", "Greater Manchester", []string{"WA14", "WA15"}, []string{"Hale", "Timperley", "Bowdon"}},
	{"Wilmslow", "Cheshire", []string{"SK9"}, []string{"Handforth", "Alderley Edge"}},
	{"Chester", "Cheshire", []string{"CH1", "CH2", "CH3", "CH4"}, []string{"Hoole", "Handbridge"}},
	{"Liverpool", "Merseyside", []string{"L1", "L8", "L15", "L17", "L18"}, []string{"Allerton", "Woolton", "Aigburth"}},
	{"Lancaster", "Lancashire", []string{"LA1", "LA2"}, []string{"Scotforth", "Bowerham"}},
	{"London", "Greater London", []string{"SW1A", "SW11", "N1", "E1", "SE15", "W2", "NW3", "EC1V"}, []string{"Battersea", "Islington", "Peckham", "Hampstead", "Clerkenwell"}},
}

// inwardLetters are the letters a postcode's inward code may end with
// (C, I, K, M, O and V are never used).
const inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"

var lenders = []string{
	"Northern Building Society", "Pennine Building Society", "Red Rose Building Society", "Mersey Mutual",
	"Albion Home Loans", "Westgate Bank", "Kingsway Mortgages", "Heritage Building Society",
	"Dales Mutual", "Capital & County Bank", "Thistle Home Finance", "Greenfield Bank",
}

var lenderCodes = []string{"NBS", "PBS", "RRB", "MMU", "AHL", "WGB", "KWM", "HBS", "DMU", "CCB", "THF", "GFB"}

var otherSolicitors = []string{
	"Hartley Brown Solicitors", "Ackroyd & Pike LLP", "Whitworth Law", "Greenwood Barnes", "Moorside Legal",
	"Fenwick & Hale", "Carter Lloyd Solicitors", "Northgate Conveyancing", "Holroyd Shaw LLP", "Pennington & Co",
}

var agentCompanies = []string{
	"Hartleys Estate Agents", "Moor & Dale Homes", "Parkside Property", "Redbrick Lettings & Sales",
	"Chapel Allerton Homes", "Didsbury Village Estates", "Aire Valley Property", "Northern Quarter Homes",
	"Castlegate Residential", "Whitehall Estates", "Kirkgate & Co", "Pennine Homes",
	"The Property Shop", "Mill Lane Estates", "Brick & Ivy", "Saltaire Sales",
}

var brokerCompanies = []string{
	"Clearview Mortgages", "Keystone Mortgage Services", "Northern Mortgage Centre", "Blue Door Finance",
	"Harbour Mortgage Advice", "First Step Mortgages", "Cornerstone Financial", "Summit Mortgage Solutions",
}

var introducerCompanies = []string{
	"HomeMove Quotes Ltd", "ConveyCompare", "MoveWise Introductions", "Key Partners Network", "Quote My Move Ltd",
}

var orgStems = []string{
	"Aire", "Pennine", "Calder", "Wharfe", "Irwell", "Mersey", "Kirkstall", "Roundhay", "Saddleworth", "Dales",
	"Oakwood", "Greystone", "Millstone", "Redbrick", "Whitecross", "Northgate", "Westfield", "Brookside",
}

var orgKinds = []string{
	"Properties Ltd", "Property Investments Ltd", "Lettings Ltd", "Holdings Ltd", "Developments Ltd",
	"Estates LLP", "Homes Ltd", "Investments LLP",
}

var leadSources = []string{
	"Estate agent referral", "Estate agent referral", "Mortgage broker", "Website", "Repeat client",
	"Recommendation", "Google", "Comparison site", "Introducer",
}

// stages is this firm's Key Stage set, in order; synonyms are other
// spellings a messy extract uses for the same stage.
var stages = []string{"Instructed", "Searches", "Compliance", "Completion"}

var stageSynonyms = map[string]string{
	"Instructed": "Quote accepted",
	"Searches":   "Searches ordered",
	"Compliance": "Exchange",
}
